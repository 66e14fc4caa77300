"""The acting request's user and address, for the audit log and the log filter."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest

from trafficdesk.core.clientip import client_ip as _client_ip


@dataclass(frozen=True)
class RequestContext:
    ip: str | None
    path: str | None


_current: ContextVar[RequestContext | None] = ContextVar("trafficdesk_request", default=None)


def set_request_context(ctx: RequestContext | None) -> object:
    return _current.set(ctx)


def reset_request_context(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def current_request_context() -> RequestContext | None:
    return _current.get()


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address: the one helper, trafficdesk.core.clientip (X-Forwarded-For only
    from TRUSTED_PROXIES)."""
    return _client_ip(request)
