"""The JSON API at /api/v1/, with its OpenAPI schema at /api/v1/openapi.json and docs at
/api/v1/docs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, RawPostDataException
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema

from trafficdesk.accounts.access import NotLoggedIn
from trafficdesk.accounts.api import router as accounts_router
from trafficdesk.booking.answers import refusal_out
from trafficdesk.booking.api import router as booking_router
from trafficdesk.booking.errors import BookingRefused
from trafficdesk.booking.rush_api import router as rush_router
from trafficdesk.catalog.api import router as catalog_router
from trafficdesk.checkpoint.api import router as checkpoint_router
from trafficdesk.core.errors import Refusal
from trafficdesk.core.locking import Busy, is_lock_timeout
from trafficdesk.core.problems import ProblemOpenAPISchema, validation_problem
from trafficdesk.core.ratelimits import RateLimited
from trafficdesk.core.validators import InvalidValue
from trafficdesk.deferral.api import router as deferral_router
from trafficdesk.enterprises.api import router as enterprises_router
from trafficdesk.hallqueue.api import router as hallqueue_router
from trafficdesk.online.api import router as online_router
from trafficdesk.planning.api import router as planning_router
from trafficdesk.policy.api import router as policy_router
from trafficdesk.regions.api import router as regions_router
from trafficdesk.sites.api import router as sites_router
from trafficdesk.staff.api import router as staff_router


class TrafficDeskAPI(NinjaAPI):
    """Every operation's OpenAPI answers include the shared error answers (400, 401/403, 404,
    413, 422, 503 by what it takes; core.problems), all of the shape Problem: a route, and
    any router added below, gets them without declaring them."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return ProblemOpenAPISchema(api=self, path_prefix=path_prefix)


api = TrafficDeskAPI(
    title="TrafficDesk API",
    version="1",
    description="交管窗口服务分区分级恢复平台 — reference data, risk levels and accounts.",
    urls_namespace="api",
    # Swagger UI from ninja's own static files ("ninja" is an installed app), so the page
    # works on a closed network; no validator badge (it would ask validator.swagger.io).
    docs=Swagger(settings={"validatorUrl": None}),
)


def _error(
    request: HttpRequest, status: int, code: str, message: str, **extra: Any
) -> HttpResponse:
    return api.create_response(request, {"code": code, "detail": message, **extra}, status=status)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Ninja's own refusals (unparseable body, CSRF, throttling) in the same shape as ours."""
    message = str(exc)
    if exc.status_code == 400:
        message = _("The body could not be read: send JSON in the form the API documents.")
    return _error(request, exc.status_code, f"http_{exc.status_code}", message)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", str(exc) or "not found")


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    if isinstance(exc, NotLoggedIn):
        return _error(request, 401, "unauthenticated", str(exc))
    return _error(request, 403, "forbidden", str(exc) or "forbidden")


@api.exception_handler(Busy)
def busy(request: HttpRequest, exc: Busy) -> HttpResponse:
    """Every locking path: "busy, retry" with Retry-After, never a 500 (docs/locking.md)."""
    response = _error(request, 503, "busy", str(exc.message))
    response["Retry-After"] = str(exc.retry_after_seconds)
    return response


@api.exception_handler(OperationalError)
def database_busy(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    """A lock timeout outside a locking transaction (the connection's own limit, or SQLite's
    busy timeout) is "busy" too; any other database error is not ours to hide."""
    if is_lock_timeout(exc):
        return busy(request, Busy())
    raise exc


@api.exception_handler(RateLimited)
def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = _error(request, 429, "rate_limited", str(exc.message))
    response["Retry-After"] = str(exc.retry_after_seconds)
    return response


@api.exception_handler(Refusal)
def refused(request: HttpRequest, exc: Refusal) -> HttpResponse:
    """A service's refusal that the route did not answer itself: its reason, plain, and the
    field at fault when it names one."""
    field = getattr(exc, "field", "")
    return _error(request, exc.status, exc.code, exc.message, **({"field": field} if field else {}))


@api.exception_handler(BookingRefused)
def booking_refused(request: HttpRequest, exc: BookingRefused) -> HttpResponse:
    """A booking or draw refusal a route did not answer itself: 409 with why and what to do
    instead, in the shape every booking route documents (RefusalOut)."""
    return api.create_response(request, refusal_out(exc), status=exc.status)


@api.exception_handler(AuthenticationError)
def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", "log in first")


@api.exception_handler(InvalidValue)
def invalid_value(request: HttpRequest, exc: InvalidValue) -> HttpResponse:
    return _error(request, 422, exc.code, exc.message(get_language()))


@api.exception_handler(RawPostDataException)
def unreadable_body(request: HttpRequest, exc: RawPostDataException) -> HttpResponse:
    """A big multipart body was parsed as a stream (core.middleware.FreeTextMiddleware), so
    it cannot be read again as JSON."""
    return _error(request, 400, "http_400", "the body is not JSON")


@api.exception_handler(ValidationError)
def invalid_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """A parameter or field that does not validate: the shape of every 422 (core.problems)."""
    return api.create_response(request, validation_problem(list(exc.errors)), status=422)


api.add_router("/accounts", accounts_router)
api.add_router("/accounts", staff_router)
api.add_router("/regions", regions_router)
api.add_router("/catalog", catalog_router)
api.add_router("/sites", sites_router)
api.add_router("/enterprises", enterprises_router)
api.add_router("/checkpoints", checkpoint_router)
api.add_router("/", policy_router)
api.add_router("/", booking_router)
api.add_router("/", rush_router)
api.add_router("/", hallqueue_router)
api.add_router("/", deferral_router)
api.add_router("/", online_router)
api.add_router("/", planning_router)
