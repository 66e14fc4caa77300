"""What a booking request answers, the same for the page and the API: the per-user rate
limit, the retry key, and the shapes of a booking and of a refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from trafficdesk.booking import idempotency, services
from trafficdesk.booking.models import Booking, PriorityClaim
from trafficdesk.core import metrics, ratelimits


def booking_out(booking: Booking) -> dict[str, Any]:
    return {
        "token": booking.token,
        "number": booking.number,
        "status": booking.status,
        "service_point": booking.slot.service_point.code,
        "starts_at": booking.slot.starts_at,
        "ends_at": booking.slot.ends_at,
        "businesses": getattr(booking, "business_codes", None)
        or [item.business.code for item in booking.items.all()],
        "id_masked": booking.id_masked,
        "applicant_class": str(booking.applicant_class),
        "minutes": booking.minutes,
        "moves": booking.moves,
        **_claim_out(booking),
    }


def _claim_out(booking: Booking) -> dict[str, Any]:
    """The state of the booking's priority claim (none for one just booked as general public:
    nothing is read for it; lists read claims with select_related("claim"))."""
    claim: PriorityClaim | None = None
    if not getattr(booking, "made_without_claim", False):
        try:
            claim = booking.claim
        except PriorityClaim.DoesNotExist:
            claim = None
    if claim is None:
        return {"claim_status": None, "claim_status_label": None}
    return {"claim_status": claim.status, "claim_status_label": claim.get_status_display()}


def refusal_out(exc: services.BookingRefused) -> dict[str, Any]:
    return {
        "code": exc.code,
        "detail": exc.message,
        "reasons": exc.reasons,
        "alternatives": [a.__dict__ for a in exc.alternatives],
        "field": exc.field,
    }


def book_answer(
    request: HttpRequest, key: str, body: dict[str, Any], book: Callable[[], Booking]
) -> idempotency.Answer:
    """One booking attempt as the page and the API both make it: the per-user rate limit,
    then the retry key (the same key and request get the first answer), then the booking.
    `book()` books; a refusal is an answer (409) and is remembered, "busy" is not."""
    ratelimits.check_booking(request)
    digest = idempotency.fingerprint(body)
    earlier = idempotency.replay(request.user, key, digest)
    if earlier is not None:
        return earlier
    try:
        answer = idempotency.Answer(201, booking_out(book()))
        metrics.booked()
    except services.BookingRefused as exc:
        metrics.refused(exc.code)
        answer = idempotency.Answer(409, refusal_out(exc))
    return idempotency.remember(request.user, key, digest, answer)
