from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from trafficdesk.core.context import RequestContext, reset_request_context, set_request_context


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; a reverse proxy in front must set it (no X-Forwarded-For trust by default)."""
    return request.META.get("REMOTE_ADDR") or None


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
