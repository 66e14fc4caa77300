from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from trafficdesk.accounts.roles import PUBLIC_NAV, ROLE_NAV


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    role_items = ROLE_NAV.get(user.role, ()) if user is not None and user.is_authenticated else ()
    return {"public_nav": PUBLIC_NAV, "role_nav": role_items}
