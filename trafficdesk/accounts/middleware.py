from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from trafficdesk.accounts.access import NotLoggedIn
from trafficdesk.accounts.decorators import login_url_for


class IdleTimeoutMiddleware:
    """Log a user out after SESSION_IDLE_SECONDS without a request. The absolute lifetime is
    SESSION_COOKIE_AGE (the session is not extended by activity)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get("last_seen")
            if last is not None and now - int(last) > settings.SESSION_IDLE_SECONDS:
                logout(request)
            elif last is None or now - int(last) >= 60:
                request.session["last_seen"] = now
        return self.get_response(request)


class LoginFirstMiddleware:
    """A page whose service refused an anonymous visitor sends them to the right login page
    (the API answers 401 instead; see trafficdesk.api)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotLoggedIn) and not request.path.startswith("/api/"):
            return redirect_to_login(request.get_full_path(), login_url_for(exception.action))
        return None


class PasswordChangeRequiredMiddleware:
    """After a password reset, a staff member may use nothing but the change-password page
    (and log out) until they have chosen a new password: pages send them there, the API
    answers 403."""

    ALWAYS_OPEN = ("staff:password-change", "accounts:logout")
    OPEN_PREFIXES = ("/static/", "/i18n/", "/favicon.ico")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not self._open(request.path)
        ):
            return self._refuse(request)
        return self.get_response(request)

    def _open(self, path: str) -> bool:
        if path.startswith(self.OPEN_PREFIXES):
            return True
        return path in {reverse(name) for name in self.ALWAYS_OPEN}

    def _refuse(self, request: HttpRequest) -> HttpResponse:
        message = _("Change your password first: it was reset by an administrator.")
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"code": "password_change_required", "detail": str(message)}, status=403
            )
        return redirect("staff:password-change")
