from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url

from trafficdesk.accounts.services import require_role


def role_required(
    *roles: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Anonymous users go to the staff login; users of another role get a 403 that says why."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                staff_login = resolve_url("accounts:staff-login")
                return redirect_to_login(request.get_full_path(), staff_login)
            require_role(request.user, *roles)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
