"""What each role may do in the admin, and what each role sees in the navigation."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from trafficdesk.accounts.models import Role

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.REGIONAL_ADMIN: (
        "regions.view_region",
        "regions.add_riskassessment",
        "regions.view_riskassessment",
        "catalog.add_business",
        "catalog.change_business",
        "catalog.view_business",
        "catalog.add_businesscategory",
        "catalog.change_businesscategory",
        "catalog.view_businesscategory",
        "sites.add_servicepoint",
        "sites.change_servicepoint",
        "sites.view_servicepoint",
        "sites.add_zone",
        "sites.change_zone",
        "sites.view_zone",
        "sites.add_window",
        "sites.change_window",
        "sites.view_window",
        "checkpoint.add_checkpoint",
        "checkpoint.change_checkpoint",
        "checkpoint.view_checkpoint",
        "notify.view_smsmessage",
        "policy.add_policyversion",
        "policy.view_policyversion",
        "policy.add_phasesetting",
        "policy.view_phasesetting",
        "policy.view_domainevent",
        "deferral.add_deferralwindow",
        "deferral.change_deferralwindow",
        "deferral.view_deferralwindow",
    ),
    Role.HALL_MANAGER: (
        "sites.view_servicepoint",
        "sites.change_servicepoint",
        "sites.add_zone",
        "sites.change_zone",
        "sites.view_zone",
        "sites.add_window",
        "sites.change_window",
        "sites.view_window",
        "catalog.view_business",
    ),
    Role.AUDITOR: ("audit.view_auditentry", "notify.view_smsmessage"),
    Role.CLERK: (),
    Role.CHECKPOINT_OFFICER: (),
    Role.CITIZEN: (),
}


@dataclass(frozen=True)
class NavItem:
    label: Promise
    url_name: str


PUBLIC_NAV = (
    NavItem(_("Home"), "dashboard:home"),
    NavItem(_("What is open near me"), "policy:open"),
    NavItem(_("Service points"), "sites:list"),
    NavItem(_("Businesses"), "catalog:list"),
)

ROLE_NAV: dict[str, tuple[NavItem, ...]] = {
    Role.CITIZEN: (
        NavItem(_("Book an appointment"), "booking:choose"),
        NavItem(_("My bookings"), "booking:mine"),
        NavItem(_("Online business"), "online:catalogue"),
        NavItem(_("My online applications"), "online:mine"),
        NavItem(_("My account"), "accounts:me"),
    ),
    Role.CLERK: (
        NavItem(_("Window console"), "hallqueue:console"),
        NavItem(_("Deadlines and deferral"), "deferral:lookup"),
        NavItem(_("Online review queue"), "online:queue"),
        NavItem(_("My service point"), "sites:mine"),
        NavItem(_("Slot calendar"), "booking:calendar"),
        NavItem(_("My account"), "accounts:me"),
    ),
    Role.HALL_MANAGER: (
        NavItem(_("My hall"), "hallqueue:my-hall"),
        NavItem(_("Window planner"), "planner"),
        NavItem(_("Window console"), "hallqueue:console"),
        NavItem(_("My service point"), "sites:mine"),
        NavItem(_("Slot calendar"), "booking:calendar"),
        NavItem(_("Hall settings"), "admin:sites_servicepoint_changelist"),
        NavItem(_("My account"), "accounts:me"),
    ),
    Role.REGIONAL_ADMIN: (
        NavItem(_("Dashboard"), "dashboard:regional"),
        NavItem(_("Risk levels"), "regions:risk"),
        NavItem(_("Import risk levels"), "regions:risk-import"),
        NavItem(_("Phases and policy"), "policy:overview"),
        NavItem(_("Deferrals ending soon"), "deferral:report"),
        NavItem(_("Window planner"), "planner"),
        NavItem(_("Slot calendar"), "booking:calendar"),
        NavItem(_("Administration"), "admin:index"),
        NavItem(_("My account"), "accounts:me"),
    ),
    Role.CHECKPOINT_OFFICER: (
        NavItem(_("Checkpoints"), "checkpoint:list"),
        NavItem(_("My account"), "accounts:me"),
    ),
    Role.AUDITOR: (
        NavItem(_("Audit log"), "audit:log"),
        NavItem(_("SMS outbox"), "admin:notify_smsmessage_changelist"),
        NavItem(_("My account"), "accounts:me"),
    ),
}
