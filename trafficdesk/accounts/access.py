"""Who may do what, to what: the one place that decides (docs/architecture.md, "Access").

Every service function asks `check(actor, Action.X, target)` before it changes anything;
pages and the API ask nothing themselves, so whatever a page refuses the API refuses too.
A decision looks at three things, as the RULES table says for each action:

* the actor's role (a superuser has every role; the system actor, used by background work
  and management commands, may do everything);
* the target's region: a county administrator acts on its county and the regions inside
  it; province-wide things (the policy, the business catalogue) need a province; clerks and
  hall managers assigned to a service point act on that point only;
* ownership: a citizen may see and change their own booking or application.

A refusal raises `Denied` with a reason in plain words and is announced on the `denied`
signal, which the audit app records (outside the transaction that is refused).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeAlias, TypeVar

from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.dispatch import Signal
from django.utils.translation import gettext as _

from trafficdesk.accounts.models import STAFF_ROLES, Role, User
from trafficdesk.core.actions import Action
from trafficdesk.core.vocabulary import AgentStatus, RegionLevel

if TYPE_CHECKING:
    from django.utils.functional import Promise

M = TypeVar("M", bound=Model)


class SystemActor:
    """Background work and management commands: acts everywhere, audited as "system"."""

    pk = None
    is_authenticated = False
    is_superuser = False
    is_system = True
    role = ""
    region = None
    service_point_id = None

    def get_username(self) -> str:
        return "system"

    def __str__(self) -> str:
        return "system"


SYSTEM = SystemActor()

Actor: TypeAlias = User | AnonymousUser | SystemActor


class RegionLike(Protocol):
    code: str
    path: str
    level: str

    def contains(self, other: Any) -> bool: ...

    def subtree_q(self, lookup: str = "") -> Q: ...


class Scope(Enum):
    ANY = "any"
    REGION = "region"
    PROVINCE = "province"


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    scope: Scope = Scope.ANY
    owner: bool = False
    """The target's owner (a booking's holder, an application's applicant) may do it too."""
    point_bound: bool = False
    """Clerks and hall managers do it at their own service point only (and not at all when
    they have none)."""
    identity: bool = False
    """The rule says what kind of account this is (a citizen's), not what it may do: a
    superuser's powers do not make it one."""
    agent: bool = False
    """Only an approved agent of the target's enterprise (`enterprise_lookup`) may do it;
    `manager`: only the agent who manages its agents."""
    manager: bool = False
    needs_region: bool = False
    """A target without a region (a staff account with no region of authority) is beyond
    every region: only a superuser may act on it."""
    unregioned_province: bool = False
    """A target without a region (a citizen's login code, a province-wide policy change, an
    application that could not be routed) concerns the whole province: only staff whose
    region of authority is a province may see it."""


STAFF_DESK = frozenset({Role.CLERK, Role.HALL_MANAGER, Role.REGIONAL_ADMIN})
HALL_STAFF = frozenset({Role.CLERK, Role.HALL_MANAGER})
ADMINS = frozenset({Role.REGIONAL_ADMIN})
CITIZENS = frozenset({Role.CITIZEN})
EVERYONE = frozenset(Role.values)
SUPERUSER_ONLY: frozenset[str] = frozenset()

#: Roles bound to their service point for `point_bound` actions.
POINT_BOUND_ROLES = frozenset({Role.CLERK, Role.HALL_MANAGER})

RULES: dict[Action, Rule] = {
    Action.BOOK: Rule(CITIZENS),
    Action.RUSH_APPLY: Rule(CITIZENS),
    Action.REALNAME_MANAGE: Rule(CITIZENS),
    Action.RUSH_OFFER_ANSWER: Rule(SUPERUSER_ONLY, owner=True),
    Action.ONLINE_APPLY: Rule(CITIZENS),
    Action.ONLINE_RESUBMIT: Rule(SUPERUSER_ONLY, owner=True),
    Action.ACCOUNT_VIEW: Rule(EVERYONE),
    Action.SMS_LOGIN: Rule(CITIZENS, identity=True),
    Action.ENTERPRISE_REGISTER: Rule(CITIZENS, identity=True),
    Action.ENTERPRISE_ACT: Rule(CITIZENS, agent=True),
    Action.ENTERPRISE_MANAGE_AGENTS: Rule(CITIZENS, agent=True, manager=True),
    Action.ENTERPRISE_VERIFY: Rule(STAFF_DESK, Scope.REGION),
    Action.PRIORITY_GRANT: Rule(ADMINS, Scope.REGION),
    Action.CLAIM_REVIEW: Rule(STAFF_DESK, Scope.REGION),
    Action.CLAIM_VERIFY: Rule(HALL_STAFF, Scope.REGION, point_bound=True),
    Action.BOOKING_VIEW: Rule(STAFF_DESK, Scope.REGION, owner=True),
    Action.BOOKING_CHANGE: Rule(STAFF_DESK, Scope.REGION, owner=True),
    Action.BOOKING_NO_SHOW: Rule(HALL_STAFF, Scope.REGION, point_bound=True),
    Action.BOOKING_CALENDAR: Rule(STAFF_DESK, Scope.REGION),
    Action.BOOKING_RECORDS: Rule(SUPERUSER_ONLY, Scope.REGION),
    Action.RUSH_OPEN: Rule(frozenset({Role.REGIONAL_ADMIN, Role.HALL_MANAGER}), Scope.REGION),
    Action.RUSH_ALLOCATE: Rule(frozenset({Role.REGIONAL_ADMIN, Role.HALL_MANAGER}), Scope.REGION),
    Action.RUSH_CHANGE: Rule(frozenset({Role.REGIONAL_ADMIN, Role.HALL_MANAGER}), Scope.REGION),
    Action.HALL_SERVE: Rule(HALL_STAFF, Scope.REGION, point_bound=True),
    Action.HALL_WATCH: Rule(frozenset({Role.HALL_MANAGER, Role.REGIONAL_ADMIN}), Scope.REGION),
    Action.WINDOW_OPEN_CLOSE: Rule(frozenset({Role.HALL_MANAGER}), Scope.REGION, point_bound=True),
    Action.KIOSK_MANAGE: Rule(
        frozenset({Role.HALL_MANAGER, Role.REGIONAL_ADMIN}), Scope.REGION, point_bound=True
    ),
    Action.SITE_EDIT: Rule(
        frozenset({Role.HALL_MANAGER, Role.REGIONAL_ADMIN}), Scope.REGION, point_bound=True
    ),
    Action.SITE_CREATE: Rule(ADMINS, Scope.REGION),
    Action.CATALOG_EDIT: Rule(ADMINS, Scope.PROVINCE),
    Action.REGION_VIEW: Rule(ADMINS, Scope.REGION),
    Action.REGION_EDIT: Rule(SUPERUSER_ONLY, Scope.PROVINCE),
    Action.RISK_SET: Rule(ADMINS, Scope.REGION),
    Action.RISK_IMPORT: Rule(ADMINS),
    Action.PHASE_SET: Rule(ADMINS, Scope.REGION),
    Action.POLICY_PUBLISH: Rule(ADMINS, Scope.PROVINCE),
    Action.POLICY_OVERVIEW: Rule(ADMINS),
    Action.EVENTS_READ: Rule(ADMINS, Scope.REGION, unregioned_province=True),
    Action.DEFERRAL_OPEN: Rule(ADMINS, Scope.REGION),
    Action.DEFERRAL_LOOKUP: Rule(STAFF_DESK),
    Action.DEFERRAL_REPORT: Rule(ADMINS, Scope.REGION, unregioned_province=True),
    Action.ONLINE_VIEW: Rule(STAFF_DESK, Scope.REGION, owner=True, unregioned_province=True),
    Action.ONLINE_REVIEW: Rule(STAFF_DESK, Scope.REGION, unregioned_province=True),
    Action.ONLINE_PHONE_FILING: Rule(STAFF_DESK),
    Action.CHECKPOINT_WATCH: Rule(frozenset({Role.CHECKPOINT_OFFICER}), Scope.REGION),
    Action.CHECKPOINT_EDIT: Rule(ADMINS, Scope.REGION),
    Action.DASHBOARD_VIEW: Rule(ADMINS, Scope.REGION),
    # the national view: a province-level administrator, or an auditor of a province
    Action.NATIONAL_VIEW: Rule(frozenset({Role.REGIONAL_ADMIN, Role.AUDITOR}), Scope.PROVINCE),
    Action.PLAN_VIEW: Rule(frozenset({Role.REGIONAL_ADMIN, Role.HALL_MANAGER}), Scope.REGION),
    Action.AUDIT_READ: Rule(frozenset({Role.AUDITOR})),
    Action.PERSONAL_DATA_REVEAL: Rule(STAFF_DESK),
    Action.OUTBOX_READ: Rule(
        frozenset({Role.AUDITOR, Role.REGIONAL_ADMIN}), Scope.REGION, unregioned_province=True
    ),
    Action.OUTBOX_RETRY: Rule(ADMINS, Scope.REGION, unregioned_province=True),
    Action.ADMIN_SITE: Rule(frozenset({Role.HALL_MANAGER, Role.REGIONAL_ADMIN, Role.AUDITOR})),
    Action.STAFF_MANAGE: Rule(ADMINS, Scope.REGION, needs_region=True),
}

denied = Signal()
"""Sent with actor, action, target and reason whenever `check` refuses (the audit app
records it)."""


class Denied(PermissionDenied):
    """Refused, with the reason in plain words."""

    def __init__(self, reason: str, action: Action) -> None:
        super().__init__(reason)
        self.reason = reason
        self.action = action


class NotLoggedIn(Denied):
    """Refused because nobody is logged in: the way forward is to log in."""


# --- reading a target -----------------------------------------------------------------------


def _follow(obj: Any, path: str) -> Any:
    for part in path.split("__") if path else ():
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def region_lookup(model: type[Model]) -> str | None:
    """The path from a model to its region ("" for a Region itself), or None if it has none."""
    return getattr(model, "region_lookup", None)


def region_of(target: Any) -> RegionLike | None:
    lookup = region_lookup(type(target))
    return None if lookup is None else _follow(target, lookup)


def point_id_of(target: Any) -> int | None:
    lookup = getattr(type(target), "point_lookup", None)
    if lookup is None:
        return None
    if lookup == "":
        return int(target.pk)
    point = _follow(target, lookup)
    return None if point is None else int(point.pk)


def owner_id_of(target: Any) -> int | None:
    field = getattr(type(target), "owner_field", None)
    return None if field is None else getattr(target, f"{field}_id", None)


def enterprise_id_of(target: Any) -> int | None:
    lookup = getattr(type(target), "enterprise_lookup", None)
    if lookup is None:
        return None
    enterprise = target if lookup == "" else _follow(target, lookup)
    return None if enterprise is None else int(enterprise.pk)


def _agent_refusal(actor: User, rule: Rule, target: Any) -> str | None:
    """None when `actor` is an approved agent (and, for `manager` rules, the manager) of the
    target's enterprise."""
    enterprise_id = enterprise_id_of(target) if target is not None else None
    if enterprise_id is None:
        return _("Choose one of your enterprises first.")
    # by name, not import: the enterprises app builds on this module
    agents = apps.get_model("enterprises", "Agent").objects.filter(
        enterprise_id=enterprise_id, user_id=actor.pk, status=AgentStatus.APPROVED
    )
    if rule.manager:
        agents = agents.filter(manager=True)
    if agents.exists():
        return None
    if rule.manager:
        return _("Only the agent who registered the enterprise can approve its agents.")
    return _("You are not an approved agent of this enterprise; ask its manager to approve you.")


def _role_names(roles: Iterable[str]) -> str:
    labels: dict[str, Promise] = dict(Role.choices)  # type: ignore[arg-type]
    return "、".join(str(labels[r]) for r in sorted(roles) if r in labels)


# --- deciding --------------------------------------------------------------------------------


def _is_system(actor: Actor) -> bool:
    return getattr(actor, "is_system", False) is True


def _why_not(actor: Actor, action: Action, target: Any) -> str | None:
    """None when allowed, else the reason."""
    if _is_system(actor):
        return None
    rule = RULES[action]
    if not actor.is_authenticated:
        return _("Log in first.")
    assert isinstance(actor, User)
    if not actor.is_active:
        return _("This account is not active.")
    if rule.owner and target is not None and owner_id_of(target) == actor.pk:
        return None
    if rule.identity and (actor.is_superuser or actor.is_staff):
        return _("This is for citizens' accounts only.")
    superuser = actor.is_superuser and not rule.identity
    if not superuser and actor.role not in rule.roles:
        if rule.roles:
            return _("Only %(roles)s can do this.") % {"roles": _role_names(rule.roles)}
        return _("Only a system administrator can do this.")
    if rule.agent:
        return _agent_refusal(actor, rule, target)
    if rule.scope is Scope.ANY or superuser:
        return None
    own: RegionLike | None = actor.region
    if own is None:
        return _("Your account has no region of authority; ask an administrator to set one.")
    if rule.scope is Scope.PROVINCE and own.level != RegionLevel.PROVINCE:
        return _("This applies to the whole province; only a province administrator can do it.")
    region = region_of(target) if target is not None else None
    if region is None and rule.needs_region and region_lookup(type(target)) is not None:
        return _("This has no region of authority; only a system administrator can change it.")
    if (
        region is None
        and rule.unregioned_province
        and target is not None
        and region_lookup(type(target)) is not None
        and own.level != RegionLevel.PROVINCE
    ):
        return _("This concerns the whole province; only province-level staff can see it.")
    if region is not None and not own.contains(region):
        return _("%(region)s is outside your region of authority (%(own)s).") % {
            "region": str(region),
            "own": str(own),
        }
    if rule.point_bound and actor.role in POINT_BOUND_ROLES:
        if not actor.service_point_id:
            return _("You are not assigned to a service point; ask your administrator.")
        point = point_id_of(target) if target is not None else None
        if point is not None and point != actor.service_point_id:
            return _("This belongs to another service point than yours.")
    return None


def why_not(actor: Actor, action: Action, target: Any = None) -> str | None:
    """The reason `actor` may not do `action` (to `target`), or None; nothing is recorded.
    For pages that explain a refusal before anyone tries."""
    return _why_not(actor, action, target)


def allows(actor: Actor, action: Action, target: Any = None) -> bool:
    """Whether `actor` may do `action` (to `target`); nothing is recorded."""
    return _why_not(actor, action, target) is None


def check(actor: Actor, action: Action, target: Any = None) -> None:
    """Refuse, with the reason, unless `actor` may do `action` (to `target`). Refusals are
    announced on `denied` (and so audited)."""
    reason = _why_not(actor, action, target)
    if reason is not None:
        refuse(actor, action, target, reason)


def refuse(actor: Actor, action: Action, target: Any, reason: str) -> NoReturn:
    """Announce the refusal on `denied` (so it is audited) and raise it."""
    denied.send(sender=Action, actor=actor, action=action, target=target, reason=reason)
    if not actor.is_authenticated and not _is_system(actor):
        raise NotLoggedIn(reason, action)
    raise Denied(reason, action)


def region_q(actor: Actor, lookup: str) -> Q:
    """Rows whose region (at `lookup`) lies inside the actor's region of authority."""
    if _is_system(actor) or getattr(actor, "is_superuser", False):
        return Q()
    own: RegionLike | None = getattr(actor, "region", None)
    if own is None:
        return Q(pk__in=[])
    return own.subtree_q(lookup)


def scope(actor: Actor, queryset: QuerySet[M], action: Action) -> QuerySet[M]:
    """The objects of `queryset` that `actor` may do `action` to (region, point, owner)."""
    if not allows(actor, action):
        rule = RULES[action]
        owner_field = getattr(queryset.model, "owner_field", None)
        if rule.owner and owner_field and actor.is_authenticated:
            return queryset.filter(**{f"{owner_field}_id": actor.pk})
        return queryset.none()
    rule = RULES[action]
    lookup = region_lookup(queryset.model)
    if rule.scope is Scope.ANY or lookup is None:
        return queryset
    within = region_q(actor, lookup)
    if rule.unregioned_province and _province_level(actor):
        within |= Q(**{f"{lookup}__isnull" if lookup else "pk__isnull": True})
    found = queryset.filter(within)
    point_lookup = getattr(queryset.model, "point_lookup", None)
    bound = (
        rule.point_bound
        and getattr(actor, "role", None) in POINT_BOUND_ROLES
        and not getattr(actor, "is_superuser", False)
    )
    if point_lookup is not None and bound:
        point_id = getattr(actor, "service_point_id", None)
        found = found.filter(**{f"{point_lookup}__pk" if point_lookup else "pk": point_id})
    return found


def _province_level(actor: Actor) -> bool:
    own: RegionLike | None = getattr(actor, "region", None)
    return own is not None and own.level == RegionLevel.PROVINCE


def scope_regions(actor: Actor, queryset: QuerySet[M], action: Action) -> QuerySet[M]:
    """The rows that bear on the actor's region (deferral windows, say): those inside it and
    those of the regions it lies in (a province-wide window applies to each of its
    counties). Empty unless the actor may do `action` at all."""
    if not allows(actor, action):
        return queryset.none()
    lookup = region_lookup(queryset.model)
    own: RegionLike | None = getattr(actor, "region", None)
    if lookup is None or own is None or _is_system(actor) or getattr(actor, "is_superuser", False):
        return queryset
    above = own.path.split("/")
    return queryset.filter(region_q(actor, lookup) | Q(**{f"{lookup}__code__in": above}))


class AccessPolicy:
    """The interface the admin base classes use (core.admin), bound to this module."""

    def allows(self, actor: Actor, action: str, target: Any = None) -> bool:
        return allows(actor, Action(action), target)

    def scope(self, actor: Actor, queryset: QuerySet[M], action: str) -> QuerySet[M]:
        return scope(actor, queryset, Action(action))

    def check(self, actor: Actor, action: str, target: Any = None) -> None:
        check(actor, Action(action), target)


POLICY = AccessPolicy()


def as_user(actor: Actor) -> User | None:
    """The user behind an actor, for "author" columns (None for the system or anonymous)."""
    return actor if isinstance(actor, User) else None


def is_citizen_role(role: str) -> bool:
    """Citizens and enterprise agents (who log in as citizens): the public, not staff."""
    return role == Role.CITIZEN


def is_staff_role(role: str) -> bool:
    """Staff of these roles enter the admin site (Django's is_staff)."""
    return role in RULES[Action.ADMIN_SITE].roles


# --- staff accounts ---------------------------------------------------------------------------

#: Roles whose work is at one service point (their account names it).
POINT_ROLES = frozenset({Role.CLERK, Role.HALL_MANAGER})


def is_assignable_staff_role(role: str) -> bool:
    """A role an administrator may give a staff account (any role but the citizen's)."""
    return role in STAFF_ROLES


def works_at_a_service_point(role: str) -> bool:
    """Window clerks and hall managers need a service point on their account."""
    return role in POINT_ROLES


def changes_own_role(actor: Actor, staff: User, role: str) -> bool:
    """Whether giving `staff` the role `role` would change the actor's own role (refused:
    nobody raises or lowers themself)."""
    return staff.pk == getattr(actor, "pk", None) and staff.role != role


def staff_why_not(actor: Actor, staff: User) -> str | None:
    """Why `actor` may not manage the staff account `staff` (None if it may): a regional
    administrator manages staff of its region only, never a superuser, never a citizen."""
    if not staff.is_superuser and is_citizen_role(staff.role):
        return _("Citizens' accounts are not staff accounts.")
    if staff.is_superuser and not (_is_system(actor) or getattr(actor, "is_superuser", False)):
        return _("Only a system administrator can change a system administrator's account.")
    return _why_not(actor, Action.STAFF_MANAGE, staff)


def check_staff(actor: Actor, staff: User) -> None:
    """Refuse (audited) unless `actor` may manage the staff account `staff`."""
    reason = staff_why_not(actor, staff)
    if reason is not None:
        refuse(actor, Action.STAFF_MANAGE, staff, reason)


def check_superuser_grant(actor: Actor) -> None:
    """Making someone a superuser: a superuser (or the system) only."""
    if _is_system(actor) or getattr(actor, "is_superuser", False):
        return
    reason = _("Only a system administrator can make someone a system administrator.")
    refuse(actor, Action.STAFF_MANAGE, None, reason)


def staff_scope(actor: Actor, queryset: QuerySet[User]) -> QuerySet[User]:
    """The staff accounts of `queryset` that `actor` may manage (no citizens; superusers
    only for a superuser)."""
    found = scope(
        actor, queryset.exclude(role=Role.CITIZEN, is_superuser=False), Action.STAFF_MANAGE
    )
    if not (_is_system(actor) or getattr(actor, "is_superuser", False)):
        found = found.filter(is_superuser=False, region__isnull=False)
    return found
