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

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.checkpoint import services
from trafficdesk.checkpoint.models import Checkpoint, Registration
from trafficdesk.core import live
from trafficdesk.core.actions import Action
from trafficdesk.regions.models import Region, RegionLevel

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


def register(request: HttpRequest, code: str) -> HttpResponse:
    """A traveller registers on a phone, without contact."""
    checkpoint = get_object_or_404(
        Checkpoint.objects.select_related("region"), code=code, active=True
    )
    counties = (
        Region.objects.filter(level=RegionLevel.COUNTY).select_related("parent").order_by("code")
    )
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            registration = services.register(
                checkpoint, request.POST.dict(), get_language() or "zh-hans"
            )
        except services.RegistrationInvalid as exc:
            errors = exc.errors
        else:
            return redirect("receipt", code=checkpoint.code, token=registration.token)
    values = {
        k: v for k, v in request.POST.items() if k not in ("id_number", "csrfmiddlewaretoken")
    }
    return render(
        request,
        "checkpoint/register.html",
        {
            "checkpoint": checkpoint,
            "counties": counties,
            "errors": errors,
            "values": values,
        },
        status=422 if errors else 200,
    )


def receipt(request: HttpRequest, code: str, token: str) -> HttpResponse:
    registration = get_object_or_404(
        Registration.objects.select_related("checkpoint", "origin__parent"),
        checkpoint__code=code,
        token=token,
    )
    return render(
        request,
        "checkpoint/receipt.html",
        {"registration": registration, "row": services.masked_row(registration)},
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
