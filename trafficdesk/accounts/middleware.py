from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

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
