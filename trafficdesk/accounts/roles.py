"""What each role sees in the navigation. Each entry names the action it leads to; the
access module decides who may do it, and `menu_is_allowed` (tested) keeps every menu inside
what its role may do, so a menu never leads to a refusal."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from trafficdesk.accounts import access
from trafficdesk.accounts.models import Role
from trafficdesk.core.actions import Action


@dataclass(frozen=True)
class NavItem:
    label: Promise
    url_name: str
    action: Action | None = None  # None: open to everyone


PUBLIC_NAV = (
    NavItem(_("Home"), "dashboard:home"),
    NavItem(_("What is open near me"), "policy:open"),
    NavItem(_("Service points"), "sites:list"),
    NavItem(_("Businesses"), "catalog:list"),
)

MY_ACCOUNT = NavItem(_("My account"), "accounts:me", Action.ACCOUNT_VIEW)
CALENDAR = NavItem(_("Slot calendar"), "booking:calendar", Action.BOOKING_CALENDAR)
CONSOLE = NavItem(_("Window console"), "hallqueue:console", Action.HALL_SERVE)
MY_POINT = NavItem(_("My service point"), "sites:mine", Action.HALL_SERVE)
PLANNER = NavItem(_("Window planner"), "planner", Action.PLAN_VIEW)
CLAIMS = NavItem(_("Priority claims to review"), "booking:claims", Action.CLAIM_REVIEW)
ENTERPRISES = NavItem(_("Enterprises to verify"), "enterprises:review", Action.ENTERPRISE_VERIFY)

ROLE_NAV: dict[str, tuple[NavItem, ...]] = {
    Role.CITIZEN: (
        NavItem(_("Book an appointment"), "booking:choose", Action.BOOK),
        NavItem(_("My bookings"), "booking:mine", Action.BOOK),
        NavItem(_("My real-name details"), "accounts:realname", Action.REALNAME_MANAGE),
        NavItem(_("Online business"), "online:catalogue", Action.ONLINE_APPLY),
        NavItem(_("My online applications"), "online:mine", Action.ONLINE_APPLY),
        NavItem(_("My enterprises"), "enterprises:mine", Action.ENTERPRISE_REGISTER),
        MY_ACCOUNT,
    ),
    Role.CLERK: (
        CONSOLE,
        NavItem(_("Deadlines and deferral"), "deferral:lookup", Action.DEFERRAL_LOOKUP),
        NavItem(_("Online review queue"), "online:queue", Action.ONLINE_REVIEW),
        CLAIMS,
        ENTERPRISES,
        MY_POINT,
        CALENDAR,
        MY_ACCOUNT,
    ),
    Role.HALL_MANAGER: (
        NavItem(_("My hall"), "hallqueue:my-hall", Action.WINDOW_OPEN_CLOSE),
        PLANNER,
        CONSOLE,
        MY_POINT,
        CALENDAR,
        NavItem(_("Hall settings"), "admin:sites_servicepoint_changelist", Action.SITE_EDIT),
        MY_ACCOUNT,
    ),
    Role.REGIONAL_ADMIN: (
        NavItem(_("Dashboard"), "dashboard:regional", Action.DASHBOARD_VIEW),
        NavItem(_("Risk levels"), "regions:risk", Action.RISK_SET),
        NavItem(_("Import risk levels"), "regions:risk-import", Action.RISK_IMPORT),
        NavItem(_("Phases and policy"), "policy:overview", Action.POLICY_OVERVIEW),
        NavItem(_("Deferrals ending soon"), "deferral:report", Action.DEFERRAL_REPORT),
        ENTERPRISES,
        CLAIMS,
        PLANNER,
        CALENDAR,
        NavItem(_("Staff accounts"), "staff:list", Action.STAFF_MANAGE),
        NavItem(_("Administration"), "admin:index", Action.ADMIN_SITE),
        MY_ACCOUNT,
    ),
    Role.CHECKPOINT_OFFICER: (
        NavItem(_("Checkpoints"), "checkpoint:list", Action.CHECKPOINT_WATCH),
        MY_ACCOUNT,
    ),
    Role.AUDITOR: (
        NavItem(_("Audit log"), "audit:log", Action.AUDIT_READ),
        NavItem(_("SMS outbox"), "admin:notify_smsmessage_changelist", Action.OUTBOX_READ),
        MY_ACCOUNT,
    ),
}


def menu_is_allowed(role: str) -> list[NavItem]:
    """The entries of a role's menu that its role may not use (empty when all is well)."""
    return [
        item
        for item in ROLE_NAV[role]
        if item.action is not None and role not in access.RULES[item.action].roles
    ]
