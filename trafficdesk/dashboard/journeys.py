"""The home page's journeys: the main citizen services as a grid of big tiles, like the
交管12123 home, and the work of a staff member's role below them."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from trafficdesk.accounts import access
from trafficdesk.accounts.roles import MY_ACCOUNT, ROLE_NAV, NavItem


@dataclass(frozen=True)
class Service:
    label: Promise
    hint: Promise
    url_name: str
    icon: str  # the name of an inline SVG in dashboard/_icon.html
    tone: str = ""  # a CSS modifier of the icon's colour
    anchor: str = ""  # a place on the home page itself instead of a page


SERVICES: tuple[Service, ...] = (
    Service(
        _("Book an appointment"), _("Choose a place and a time to go"), "booking:choose", "calendar"
    ),
    Service(
        _("Apply online"), _("Done without leaving home"), "online:catalogue", "laptop", "leaf"
    ),
    Service(_("My bookings"), _("See, change or cancel"), "booking:mine", "ticket", "orange"),
    Service(_("My applications"), _("Follow the progress"), "online:mine", "progress", "teal"),
    Service(
        _("What is open"), _("Which offices are open to you"), "policy:open", "search", "purple"
    ),
    Service(
        _("Checkpoint registration"),
        _("Scan the QR code at the checkpoint"),
        "dashboard:home",
        "qr",
        "orange",
        anchor="checkpoint-registration",
    ),
)


def staff_work(role: str) -> tuple[NavItem, ...]:
    """A staff member's menu, without the account entry (it is in the header)."""
    if access.is_citizen_role(role):
        return ()
    return tuple(item for item in ROLE_NAV.get(role, ()) if item is not MY_ACCOUNT)
