"""How a request proves it comes from a registered kiosk of the hall (or from its staff), for
the kiosk page and the kiosk API alike.

The kiosk holds its token in a cookie that the server sets when the kiosk opens its pairing
link (`pair` below): HttpOnly (no script on the page can read or send it elsewhere),
SameSite=Strict (no other site's page makes the kiosk's browser send it) and Secure over
HTTPS. The kiosk page is a server-rendered form page, so a cookie needs no script at all and
Django's CSRF check guards its POSTs; the API routes, which Django's CSRF check does not
guard, also require a same-site JSON request (accounts.api.require_same_site_json)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from trafficdesk.accounts.api import require_same_site_json
from trafficdesk.core import ratelimits
from trafficdesk.hallqueue import services
from trafficdesk.hallqueue.models import KioskDevice
from trafficdesk.sites.models import ServicePoint

KIOSK_COOKIE = "trafficdesk_kiosk"
#: Browsers keep a cookie 400 days at most; the kiosk page renews it on every visit.
KIOSK_COOKIE_AGE = timedelta(days=400)


def device(request: HttpRequest, point: ServicePoint) -> KioskDevice | None:
    """The registered kiosk of this hall the request comes from, else None."""
    return services.kiosk_for_token(point, request.COOKIES.get(KIOSK_COOKIE, ""))


def keep_cookie(response: HttpResponse, token: str) -> None:
    response.set_cookie(
        KIOSK_COOKIE,
        token,
        max_age=int(KIOSK_COOKIE_AGE.total_seconds()),
        httponly=True,
        samesite="Strict",
        secure=bool(settings.SESSION_COOKIE_SECURE),
    )


def renew_cookie(request: HttpRequest, response: HttpResponse) -> None:
    """Keep a paired kiosk's cookie from expiring (called when its token was valid)."""
    keep_cookie(response, request.COOKIES.get(KIOSK_COOKIE, ""))


def count_ticket(request: HttpRequest, found: KioskDevice | None) -> None:
    """One ticket asked for by this kiosk: over KIOSK_RATE_PER_DEVICE it is RateLimited.
    Staff at the hall's desk are not a kiosk and are not counted."""
    if found is not None:
        ratelimits.check_kiosk(request, str(found.pk))


def authorise_api(request: HttpRequest, point: ServicePoint) -> KioskDevice | None:
    """An API request to issue a ticket: from this site (JSON, same origin), from a kiosk of
    this hall or its staff, and within the kiosk's rate. Refusals raise KioskRefused (403)
    or RateLimited (429)."""
    try:
        require_same_site_json(request)
    except PermissionDenied as exc:
        raise services.KioskRefused(
            _(
                "This request did not come from this site's own kiosk page, so it was refused. "
                "Take a ticket on the kiosk in the hall."
            ),
            "kiosk.cross_site",
        ) from exc
    found = device(request, point)
    services.check_may_issue(request.user, point, found)
    count_ticket(request, found)
    return found
