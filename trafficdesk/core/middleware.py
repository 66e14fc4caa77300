from __future__ import annotations

from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trafficdesk.core.context import (
    RequestContext,
    client_ip,
    reset_request_context,
    set_request_context,
)
from trafficdesk.core.locking import Busy, is_lock_timeout
from trafficdesk.core.ratelimits import RateLimited


class RequestContextMiddleware:
    """Records the caller's address for the audit log and marks personal pages no-store."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = set_request_context(RequestContext(ip=client_ip(request), path=request.path))
        try:
            response = self.get_response(request)
        finally:
            reset_request_context(token)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            response.setdefault("Cache-Control", "no-store, private")
        return response


class TryAgainMiddleware:
    """Pages answer "busy" (503) and "too many requests" (429) with a page that says so and
    when to try again; the API has its own handlers for the same exceptions (trafficdesk.api)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        message: object
        if isinstance(exception, OperationalError) and is_lock_timeout(exception):
            exception = Busy()
        if isinstance(exception, Busy):
            status, message, wait = 503, exception.message, exception.retry_after_seconds
        elif isinstance(exception, RateLimited):
            status, message, wait = 429, exception.message, exception.retry_after_seconds
        else:
            return None
        response = render(
            request, "try_again.html", {"message": message, "seconds": wait}, status=status
        )
        response["Retry-After"] = str(wait)
        return response
