from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from trafficdesk.core.context import (
    RequestContext,
    client_ip,
    reset_request_context,
    set_request_context,
)
from trafficdesk.core.locking import Busy, is_lock_timeout
from trafficdesk.core.ratelimits import RateLimited
from trafficdesk.core.validators import InvalidValue, check_free_text


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


class RequestSizeMiddleware:
    """A request whose declared body (Content-Length) is over REQUEST_MAX_BODY_BYTES is
    refused with 413 before anything reads it; uploads within it are spooled to temporary
    files (FILE_UPLOAD_MAX_MEMORY_SIZE) and each file is read within its own limit
    (core.uploads.read_limited). Without a Content-Length, Django reads no more than
    DATA_UPLOAD_MAX_MEMORY_SIZE of form data into memory."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = settings.REQUEST_MAX_BODY_BYTES
        if declared > limit:
            return too_large(request, limit)
        return self.get_response(request)


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    message = _(
        "The request is too large: at most %(mb)s MB can be sent at once, and each file "
        "may be at most 5 MB. Send smaller or fewer files."
    ) % {"mb": limit // (1024 * 1024)}
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "too_large", "detail": message}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class FreeTextMiddleware:
    """Free text — names, reasons, notes, addresses, notice lines — is refused in one place,
    for every form and every API body alike, when it holds a control character or a
    bidirectional override (core.validators.check_free_text): 422, naming the field, in plain
    words, before any view stores it. Password fields are left to the password checks."""

    WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in self.WRITE_METHODS:
            refused = self._first_refusal(request)
            if refused is not None:
                field, exc = refused
                return free_text_refused(request, field, exc)
        return self.get_response(request)

    def _first_refusal(self, request: HttpRequest) -> tuple[str, InvalidValue] | None:
        content_type = (request.content_type or "").lower()
        pairs: list[tuple[str, object]]
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                if int(request.META.get("CONTENT_LENGTH") or 0) <= (
                    settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
                ):
                    # A small body is kept, so that a view (or ninja) may still read it raw;
                    # a big one (uploads) is parsed as a stream, its files to temporary files.
                    request.body  # noqa: B018 - read for its side effect
                pairs = [(k, v) for k, values in request.POST.lists() for v in values]
            except (SuspiciousOperation, MultiPartParserError, ValueError):
                return None  # too big, too many fields, malformed: Django answers it
        elif content_type.endswith("json"):
            try:
                body = request.body
                if not may_hold_forbidden_text(body):
                    return None  # the usual case: no full parse here (ninja parses it anyway)
                pairs = list(_strings(json.loads(body), ""))
            except (ValueError, RequestDataTooBig):
                return None  # the view (or ninja) answers a body it cannot read
        else:
            return None
        for field, value in pairs:
            if "password" in field.lower() or not isinstance(value, str):
                continue
            try:
                check_free_text(field)
                check_free_text(value)
            except InvalidValue as exc:
                return field, exc
        return None


#: The only bytes through which a JSON document's strings can hold a code point that
#: core.validators.FORBIDDEN_TEXT_CHARS_RE refuses: the character itself in UTF-8 (C0 and DEL
#: as they are, C1 as C2 80-9F, the bidirectional marks as E2 80 AA-AE and E2 81 A6-A9), or an
#: escape (\b and \f are U+0008 and U+000C; \u any code point). A body in UTF-16 or UTF-32,
#: which json.loads reads too, has NUL bytes (every JSON document has an ASCII character).
_MAY_HOLD_FORBIDDEN_TEXT = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]"
    rb"|\xe2\x81[\xa6-\xa9]|\\[bfu]"
)


def may_hold_forbidden_text(body: bytes) -> bool:
    """Whether a JSON body may hold a refused character: a scan of the raw bytes (about a
    hundred times cheaper than parsing), so that only such a body is parsed to name the
    field. Conservative: an escaped backslash before b, f or u is parsed too."""
    return _MAY_HOLD_FORBIDDEN_TEXT.search(body) is not None


def _strings(value: object, path: str) -> Iterator[tuple[str, object]]:
    """Every string of a JSON document (keys too), with the path of its field."""
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            yield name, str(key)
            yield from _strings(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
    else:
        yield path, value


def free_text_refused(request: HttpRequest, field: str, exc: InvalidValue) -> HttpResponse:
    message = exc.message(get_language())
    if request.path.startswith("/api/"):
        # The shape of every 422 (core.problems.Problem): "field" names the one at fault.
        return JsonResponse(
            {
                "code": exc.code,
                "detail": message,
                "field": field,
                "errors": {field: message},
                "error_codes": {field: exc.code},
            },
            status=422,
        )
    return render(
        request,
        "refused_input.html",
        {"message": message, "back": _same_site_referer(request)},
        status=422,
    )


def _same_site_referer(request: HttpRequest) -> str:
    """The form's own address, to go back to (only a page of this site)."""
    referer = request.META.get("HTTP_REFERER", "")
    return referer if url_has_allowed_host_and_scheme(referer, {request.get_host()}) else ""


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
