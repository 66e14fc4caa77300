from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url

from trafficdesk.accounts import access
from trafficdesk.core.actions import Action

View = Callable[..., HttpResponse]

#: Actions that citizens do: an anonymous visitor is sent to the citizen (SMS) login.
CITIZEN_LOGIN_ACTIONS = frozenset(
    a for a, rule in access.RULES.items() if rule.owner or access.Role.CITIZEN in rule.roles
)


def login_url_for(action: Action) -> str:
    if action in CITIZEN_LOGIN_ACTIONS:
        return resolve_url("accounts:citizen-login")
    return resolve_url("accounts:staff-login")


def permission_required(action: Action) -> Callable[[View], View]:
    """A page that needs `action`: anonymous visitors go to the right login page; others are
    checked by the access module, which says why when it refuses (403)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), login_url_for(action))
            access.check(request.user, action)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
