"""The one shape of every API error answer (`Problem`), and the error answers every operation
documents without repeating them by hand (`shared_errors`, added to the OpenAPI schema by
`ProblemOpenAPISchema`, which trafficdesk.api uses for the whole API).

A route declares in its own `response=` only its success answers and the refusals that are
its own (409 for a domain refusal, a 422 it answers itself, 429 for its rate limit...); the
answers that the framework, the middleware and the exception handlers of trafficdesk.api can
give on any route are documented here, once, by a rule on what the operation takes:

* 400: the body is not readable (ninja's "cannot parse"), on every operation with a body;
* 401 and 403: not logged in, not allowed, or no CSRF token, on every operation with auth;
* 404: no such object, on every operation with a path parameter (another that looks an
  object up by a query parameter declares its 404 itself);
* 413: a body over REQUEST_MAX_BODY_BYTES (core.middleware.RequestSizeMiddleware), on all;
* 422: a parameter or body that does not validate, or free text with a control character
  (core.middleware.FreeTextMiddleware), on every operation with parameters or a body;
* 503: busy, try again (a lock timeout, docs/locking.md), on all.

Every one of them has the shape `Problem`; so has every 422, whoever answers it.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Schema
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from pydantic import Field


class Problem(Schema):
    """Why a request was refused, in plain words, and for programs a stable code."""

    code: str = Field(..., description="stable reason for programs, e.g. slot.full")
    detail: str = Field(
        ..., description="why, and what to do instead, in plain words in the request's language"
    )
    field: str = Field("", description="the one field at fault, when the refusal names one")
    errors: dict[str, str] = Field(
        default_factory=dict,
        description="422: field → what is wrong, in words; a nested field reads rows[2].vin",
    )
    error_codes: dict[str, str] = Field(
        default_factory=dict,
        description="422: field → stable code, e.g. id.checksum or int_type",
    )


#: Status → what it means, for the shared answers (see the module's docstring for where).
SHARED_ERRORS: dict[int, str] = {
    400: "The body is not readable JSON (or not the form this operation takes).",
    401: "Not logged in.",
    403: "Not allowed for this account, or no CSRF token with a logged-in session.",
    404: "No such object.",
    413: "The request is too large.",
    422: "A parameter or field is not valid (errors names each field), or free text holds "
    "a control character (field names it).",
    503: "Busy: try again after the Retry-After seconds.",
}

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def shared_errors(operation: Operation) -> list[int]:
    """The shared error statuses that `operation` can answer."""
    sources = {getattr(model, "__ninja_param_source__", "") for model in operation.models}
    statuses = [413, 503]
    if sources & {"body", "form", "file"}:
        statuses.append(400)
    if operation.auth_callbacks:
        statuses += [401, 403]
    if "path" in sources:
        statuses.append(404)
    if operation.models or _WRITE_METHODS & set(operation.methods):
        statuses.append(422)
    return sorted(statuses)


class _ProblemResponse(Schema):
    response: Problem


class ProblemOpenAPISchema(OpenAPISchema):
    """Ninja's OpenAPI schema, with the shared error answers added to every operation that
    does not document that status itself."""

    def responses(self, operation: Operation) -> dict[int, dict[str, Any]]:
        result = super().responses(operation)
        for status in shared_errors(operation):
            if status in result:
                continue
            # Ninja types the model as a parameter model; its own responses() passes a plain
            # response Schema like this one.
            schema = self._create_schema_from_model(
                _ProblemResponse,  # type: ignore[type-var]
                by_alias=operation.by_alias,
                mode="serialization",
            )[0]
            result[status] = {
                "description": SHARED_ERRORS[status],
                "content": {self.api.renderer.media_type: {"schema": schema}},
            }
        return result


# --- the 422 of a request that does not validate ----------------------------------------------

_SOURCES = frozenset({"body", "query", "path", "header", "cookie", "form", "file"})


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """Ninja's error location as the field's name: ("body", "payload", "rows", 2, "vin") →
    rows[2].vin (the source and the body parameter's own name left out)."""
    parts = list(loc)
    source = parts.pop(0) if parts and parts[0] in _SOURCES else ""
    if source in ("body", "form") and len(parts) > 1:
        parts.pop(0)  # the view's parameter (payload), not a field of the body
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def _words(error: dict[str, Any]) -> str:
    """One field's error in plain words (pydantic's English where no wording is kept here)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    simple = {
        "missing": _("This field is required."),
        "int_type": _("Enter a whole number."),
        "int_parsing": _("Enter a whole number."),
        "int_from_float": _("Enter a whole number."),
        "float_type": _("Enter a number."),
        "float_parsing": _("Enter a number."),
        "bool_type": _("Enter true or false."),
        "bool_parsing": _("Enter true or false."),
        "string_type": _("Enter text."),
        "date_type": _("Enter a date as YYYY-MM-DD."),
        "date_parsing": _("Enter a date as YYYY-MM-DD."),
        "date_from_datetime_parsing": _("Enter a date as YYYY-MM-DD."),
        "json_invalid": _("The body is not valid JSON."),
    }
    if kind in simple:
        return str(simple[kind])
    bounds = {
        "greater_than_equal": (_("Enter a number of at least %(limit)s."), "ge"),
        "less_than_equal": (_("Enter a number of at most %(limit)s."), "le"),
        "string_too_long": (_("Too long: at most %(limit)s characters."), "max_length"),
        "string_too_short": (_("Too short: at least %(limit)s characters."), "min_length"),
        "too_long": (_("Too many: at most %(limit)s."), "max_length"),
        "too_short": (_("Too few: at least %(limit)s."), "min_length"),
        "literal_error": (_("Choose one of: %(limit)s."), "expected"),
        "enum": (_("Choose one of: %(limit)s."), "expected"),
    }
    if kind in bounds and bounds[kind][1] in ctx:
        template, key = bounds[kind]
        return str(template) % {"limit": ctx[key]}
    if kind in ("string_pattern_mismatch", "dict_type", "list_type", "model_type"):
        return str(_("This is not in the expected form."))
    return str(error.get("msg") or _("This is not valid."))


def validation_problem(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Ninja's validation errors as a Problem: each field named, with words and a code."""
    words: dict[str, str] = {}
    codes: dict[str, str] = {}
    for error in errors:
        name = field_path(error.get("loc", ()))
        words.setdefault(name, _words(error))
        codes.setdefault(name, str(error.get("type") or "invalid"))
    return {
        "code": "invalid",
        "detail": _("Some fields are not valid (%(fields)s): correct them and send again.")
        % {"fields": ", ".join(words)},
        "errors": words,
        "error_codes": codes,
    }
