from __future__ import annotations

import io
from typing import Any

import segno
from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.checkpoint import services
from trafficdesk.checkpoint.models import Checkpoint, Registration
from trafficdesk.checkpoint.rules import PLATE_PICKER, flag_texts
from trafficdesk.core import live, ratelimits
from trafficdesk.core.actions import Action

QR_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


@permission_required(Action.CHECKPOINT_WATCH)
def checkpoint_list(request: HttpRequest) -> HttpResponse:
    checkpoints = services.visible_checkpoints(request.user)
    return render(request, "checkpoint/list.html", {"checkpoints": checkpoints})


def qr(request: HttpRequest, code: str, kind: str) -> HttpResponse:
    """The printable QR code that leads to the registration page (PNG, SVG or PDF)."""
    if kind not in QR_TYPES:
        raise Http404
    checkpoint = get_object_or_404(Checkpoint, code=code, active=True)
    url = request.build_absolute_uri(reverse("register", args=[checkpoint.code]))
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind=kind, scale=10, border=4)
    response = HttpResponse(buffer.getvalue(), content_type=QR_TYPES[kind])
    response["Content-Disposition"] = f'inline; filename="checkpoint-{checkpoint.code}.{kind}"'
    return response


#: Answers sent back into the form after an error or a chooser step (everything typed).
FORM_FIELDS = (
    "name",
    "id_number",
    "mobile",
    "plate_prefix",
    "plate",
    "origin_province",
    "origin_city",
    "origin",
    "destination",
    "passengers",
)


def _active_checkpoint(code: str) -> Checkpoint:
    return get_object_or_404(Checkpoint.objects.select_related("region"), code=code, active=True)


def _origin_context(checkpoint: Checkpoint, values: dict[str, str]) -> dict[str, Any]:
    choices = services.origin_choices(
        values.get("origin_province", ""),
        values.get("origin_city", ""),
        values.get("origin", ""),
        values.get("plate_prefix", ""),
        values.get("plate", ""),
    )
    return {"checkpoint": checkpoint, "choices": choices, "plate_picker": PLATE_PICKER}


@never_cache
def register(request: HttpRequest, code: str) -> HttpResponse:
    """A traveller registers on a phone, without contact. The origin is chosen province →
    city → county: with JavaScript each choice refreshes the chooser (origin_fields); without
    it, the "show the next level" button posts the form back with every answer kept."""
    checkpoint = _active_checkpoint(code)
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {key: request.POST.get(key, "")[:120] for key in FORM_FIELDS}
        if request.POST.get("step") != "origin":
            ratelimits.check_checkpoint_registration(request)  # over it: the 429 page
            try:
                registration = services.register(checkpoint, values, get_language() or "zh-hans")
            except services.RegistrationInvalid as exc:
                errors, codes = exc.errors, exc.codes
            else:
                return redirect("receipt", code=checkpoint.code, token=registration.token)
    context = _origin_context(checkpoint, values)
    return render(
        request,
        "checkpoint/register.html",
        {**context, "errors": errors, "codes": codes, "values": values},
        status=422 if errors else 200,
    )


@never_cache
def origin_fields(request: HttpRequest, code: str) -> HttpResponse:
    """The province → city → county chooser alone, for the answers so far (htmx swaps it in
    when a choice or the plate's province changes). Only these codes travel in the URL."""
    checkpoint = _active_checkpoint(code)
    values = {
        key: request.GET.get(key, "")[:12]
        for key in ("origin_province", "origin_city", "origin", "plate_prefix")
    }
    context = {**_origin_context(checkpoint, values), "partial": True}  # JS is on: no button
    return render(request, "checkpoint/_origin.html", context)


def receipt(request: HttpRequest, code: str, token: str) -> HttpResponse:
    registration = get_object_or_404(
        Registration.objects.select_related("checkpoint", "origin__parent__parent"),
        checkpoint__code=code,
        token=token,
    )
    return render(
        request,
        "checkpoint/receipt.html",
        {
            "checkpoint": registration.checkpoint,
            "registration": registration,
            "row": services.masked_row(registration),
            "flags": flag_texts(registration.flag_reasons, get_language() or "zh-hans"),
        },
    )


@permission_required(Action.CHECKPOINT_WATCH)
def console(request: HttpRequest, code: str) -> HttpResponse:
    """Arrivals as they come (re-read on each arrival event), flagged ones marked, search by
    plate."""
    checkpoint = get_object_or_404(Checkpoint.objects.select_related("region"), code=code)
    # Read before the list, so that the page's stream gets every arrival after it.
    live_after = live.latest_id(live.checkpoint_channel(checkpoint.pk))
    plate = request.GET.get("plate", "")[:12]
    flagged_only = request.GET.get("flagged") == "1"
    rows = [
        (r, services.masked_row(r))
        for r in services.arrivals(request.user, checkpoint, plate=plate, flagged_only=flagged_only)
    ]
    template = (
        "checkpoint/_arrivals.html"
        if request.headers.get("HX-Request")
        else "checkpoint/console.html"
    )
    return render(
        request,
        template,
        {
            "checkpoint": checkpoint,
            "rows": rows,
            "plate": plate,
            "flagged_only": flagged_only,
            "live_after": live_after,
        },
    )


async def console_events(request: HttpRequest, code: str) -> HttpResponseBase:
    """Server-sent events: an "arrival" event for each registration at this checkpoint; the
    officer's list then re-reads itself. Async: holds no thread while it waits."""
    user = await request.auser()
    checkpoint = await sync_to_async(_watched_checkpoint)(user, code)
    channel = live.checkpoint_channel(checkpoint.pk)
    return await live.channel_response(request, channel, kinds=("arrival",))


def _watched_checkpoint(user: Any, code: str) -> Checkpoint:
    checkpoint = get_object_or_404(Checkpoint.objects.select_related("region"), code=code)
    access.check(user, Action.CHECKPOINT_WATCH, checkpoint)
    return checkpoint


@permission_required(Action.CHECKPOINT_WATCH)
def export(request: HttpRequest, code: str, kind: str) -> HttpResponse:
    checkpoint = get_object_or_404(Checkpoint.objects.select_related("region"), code=code)
    rows = services.export_rows(request.user, checkpoint)
    if kind == "csv":
        response = HttpResponse(services.as_csv(rows), content_type="text/csv; charset=utf-8")
    elif kind == "xlsx":
        response = HttpResponse(
            services.as_xlsx(rows, title=checkpoint.code),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="arrivals-{checkpoint.code}.{kind}"'
    return response
