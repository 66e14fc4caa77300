"""What the audit log's codes say to an auditor: each recorded action's label, the kind of
object it touched, and the summaries written in a known form (risk levels, phases, counts) in
the reader's language. Entries keep their codes; only the page shows labels."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from django.apps import apps
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trafficdesk.accounts import realname
from trafficdesk.audit.models import AuditEntry
from trafficdesk.core.vocabulary import ApplicantClass, RiskLevel

ACTION_LABELS: dict[str, Promise] = {
    "accounts.sms_login": _("logged in by SMS code"),
    "accounts.view": _("viewed an account"),
    "admin.site": _("used the administration site"),
    "audit.read": _("read the audit log"),
    "booking.book": _("booked"),
    "booking.calendar": _("viewed the slot calendar"),
    "booking.cancel": _("cancelled a booking"),
    "booking.change": _("changed a booking"),
    "booking.no_show": _("marked a booking as not come"),
    "booking.records": _("read booking records"),
    "booking.view": _("viewed a booking"),
    "catalog.edit": _("edited the business catalogue"),
    "checkpoint.edit": _("edited a checkpoint"),
    "checkpoint.export": _("exported checkpoint arrivals"),
    "checkpoint.watch": _("watched checkpoint arrivals"),
    "checkpoint.view": _("viewed checkpoint registrations"),
    "checkpoint.purge": _("deleted old registrations"),
    "claim.confirm": _("confirmed a priority claim"),
    "claim.downgrade": _("turned down a priority claim"),
    "claim.review": _("reviewed a priority claim"),
    "claim.verify": _("verified a priority claim"),
    "dashboard.view": _("viewed the dashboard"),
    "deferral.close": _("closed a deferral window"),
    "deferral.lookup": _("looked up deadlines"),
    "deferral.open": _("opened a deferral window"),
    "deferral.report": _("read the deferral report"),
    "enterprise.act": _("acted for an enterprise"),
    "enterprise.agent_request": _("asked to be an enterprise's agent"),
    "enterprise.agents": _("managed an enterprise's agents"),
    "enterprise.grant": _("granted a priority class"),
    "enterprise.register": _("registered an enterprise"),
    "enterprise.revoke": _("revoked a priority class"),
    "enterprise.vehicle_add": _("added a vehicle to a fleet"),
    "enterprise.vehicle_remove": _("removed a vehicle from a fleet"),
    "enterprise.verify": _("verified an enterprise"),
    "enterprise.verified": _("verified an enterprise"),
    "enterprise.rejected": _("turned down an enterprise"),
    "hall.serve": _("served at a window"),
    "hall.ended_by_policy": _("ended queued tickets after a change of the epidemic rules"),
    "hall.skip": _("skipped a ticket"),
    "hall.transfer": _("transferred a ticket"),
    "hall.watch": _("watched a hall"),
    "hall.kiosk": _("registered or switched off a kiosk"),
    "hall.kiosk_register": _("registered a kiosk"),
    "hall.kiosk_revoke": _("switched off a kiosk"),
    "hall.window": _("opened or closed a window"),
    "notify.outbox": _("read the SMS outbox"),
    "notify.retry": _("sent a failed SMS again"),
    "online.apply": _("applied online"),
    "online.phone_filing": _("filed an application for a caller"),
    "online.resubmit": _("resubmitted an application"),
    "online.review": _("reviewed an online application"),
    "online.status": _("moved an online application on"),
    "online.view": _("viewed an online application"),
    "personal_data.view": _("viewed personal data"),
    "personal_data.shown": _("was shown personal data of a citizen"),
    "phase.set": _("set a reopening phase"),
    "realname.bind": _("bound an ID number to the account"),
    "realname.family_add": _("declared a family member"),
    "realname.family_remove": _("removed a family member"),
    "planning.view": _("used the window planner"),
    "policy.events": _("read the policy events"),
    "policy.overview": _("viewed phases and policy"),
    "policy.publish": _("published the policy"),
    "region.rename": _("renamed a region"),
    "regions.edit": _("edited regions"),
    "regions.view": _("viewed regions"),
    "risk.import": _("imported risk levels"),
    "risk.set": _("set a risk level"),
    "rush.add_slots": _("added slots to a draw"),
    "rush.allocate": _("ran a draw"),
    "rush.apply": _("applied to a draw"),
    "rush.change": _("changed a draw"),
    "rush.offer": _("offered places from a waiting list"),
    "rush.offer_accept": _("accepted an offered place"),
    "rush.offer_decline": _("declined an offered place"),
    "rush.offer_expire": _("offered places expired"),
    "rush.open": _("opened a draw"),
    "rush.withdraw": _("withdrew a draw"),
    "sites.create": _("created a service point"),
    "servicepoint.slots": _("made a service point's bookable slots"),
    "sites.edit": _("edited a service point"),
    "window.delete": _("deleted a window"),
    "zone.delete": _("deleted a zone"),
}
OTHER_ACTION = _("other action")


#: Actions recorded with a computed name (online.<status>, enterprise.<status>).
PREFIX_LABELS: dict[str, Promise] = {
    "online": _("moved an online application on"),
    "enterprise": _("changed an enterprise"),
}


def action_label(code: str) -> str:
    """The action's label; an action this table does not know yet is "other action" (the code
    stays in the entry and in the filter's value)."""
    known = ACTION_LABELS.get(code) or PREFIX_LABELS.get(code.split(".", 1)[0])
    return str(known or OTHER_ACTION)


def action_choices() -> list[tuple[str, str]]:
    return sorted(((code, str(label)) for code, label in ACTION_LABELS.items()), key=lambda c: c[1])


def object_label(object_type: str, object_id: str) -> str:
    """ "预约 #12" for booking.booking 12: the model's name in the reader's language."""
    if not object_type:
        return "—"
    try:
        name = str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        name = gettext("record")
    return f"{name} #{object_id}" if object_id else name


def _moment(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return date_format(moment, "Y-m-d H:i")


def _risk(code: str) -> str:
    try:
        return str(RiskLevel(code).label)
    except ValueError:
        return code


def _class(code: str) -> str:
    try:
        return str(ApplicantClass(code).label)
    except ValueError:
        return code


#: Where staff were shown personal data (the `purpose` of audit.services.record_view).
PURPOSE_LABELS: dict[str, Promise] = {
    "online.detail": _("online application page"),
    "online.api.detail": _("online application (API)"),
    "booking.detail": _("booking page"),
    "booking.api.detail": _("booking (API)"),
    "deferral.report": _("deferrals ending soon report"),
    "deferral.api.ending_soon": _("deferrals ending soon report (API)"),
    "hall.console.call": _("window console, ticket called"),
}


def _purpose(code: str) -> str:
    return str(PURPOSE_LABELS.get(code, code))


Reader = Callable[[re.Match[str]], str]
SUMMARIES: tuple[tuple[re.Pattern[str], Reader], ...] = (
    (
        re.compile(r"^(\d{6}) → (LOW|MEDIUM|HIGH) from (\S+)$"),
        lambda m: (
            gettext("%(region)s → %(level)s from %(when)s")
            % {"region": m[1], "level": _risk(m[2]), "when": _moment(m[3])}
        ),
    ),
    (
        re.compile(r"^(\d{6}) → (LOW|MEDIUM|HIGH)$"),
        lambda m: f"{m[1]} → {_risk(m[2])}",
    ),
    (
        re.compile(r"^(\d{6}) → phase (\d+)$"),
        lambda m: gettext("%(region)s → phase %(phase)s") % {"region": m[1], "phase": m[2]},
    ),
    (
        re.compile(r"^policy v(\d+) from (.+)$"),
        lambda m: gettext("policy version %(n)s from %(when)s") % {"n": m[1], "when": m[2]},
    ),
    (re.compile(r"^imported (\d+) rows$"), lambda m: gettext("%(n)s rows imported") % {"n": m[1]}),
    (
        re.compile(r"^refused: (\d+) bad rows$"),
        lambda m: gettext("refused: %(n)s rows were wrong") % {"n": m[1]},
    ),
    (re.compile(r"^refused: (.*)$"), lambda m: gettext("refused: %(why)s") % {"why": m[1]}),
    (
        re.compile(r"^(\d+) slots, seed sha256 ([0-9a-f]+)$"),
        lambda m: gettext("%(n)s slots, seed SHA-256 %(hash)s") % {"n": m[1], "hash": m[2]},
    ),
    (re.compile(r"^(\d+) slots added$"), lambda m: gettext("%(n)s slots added") % {"n": m[1]}),
    (
        re.compile(r"^(\d+) rows \(masked\)$"),
        lambda m: gettext("%(n)s rows (masked)") % {"n": m[1]},
    ),
    (
        re.compile(r"^(\d+) won of (\d+)$"),
        lambda m: gettext("%(won)s of %(all)s won a place") % {"won": m[1], "all": m[2]},
    ),
    (
        re.compile(r"^(\d+) places offered$"),
        lambda m: gettext("%(n)s places offered") % {"n": m[1]},
    ),
    (
        re.compile(r"^offers not answered in time$"),
        lambda m: gettext("offers not answered in time"),
    ),
    (re.compile(r"^application (\d+)$"), lambda m: gettext("application %(n)s") % {"n": m[1]}),
    (re.compile(r"^offer (\d+)$"), lambda m: gettext("offer %(n)s") % {"n": m[1]}),
    (
        re.compile(r"^driver looked up by ID number$"),
        lambda m: gettext("driver looked up by ID number"),
    ),
    (re.compile(r"^vehicle looked up by plate$"), lambda m: gettext("vehicle looked up by plate")),
    (
        re.compile(r"^viewed unmasked mobile number$"),
        lambda m: gettext("viewed an unmasked mobile number"),
    ),
    (
        re.compile(r"^viewed unmasked mobile number: (.+)$"),
        lambda m: gettext("viewed an unmasked mobile number, because: %(why)s") % {"why": m[1]},
    ),
    (
        re.compile(r"^shown for (\S+)$"),
        lambda m: gettext("shown on: %(where)s") % {"where": _purpose(m[1])},
    ),
    (
        re.compile(r"^(\d+) people listed for (\S+)$"),
        lambda m: (
            gettext("%(n)s people listed on: %(where)s") % {"n": m[1], "where": _purpose(m[2])}
        ),
    ),
    (
        re.compile(r"^plate search (.+)$"),
        lambda m: gettext("search by plate %(plate)s") % {"plate": m[1]},
    ),
    (re.compile(r"^arrivals list$"), lambda m: gettext("list of arrivals")),
    (
        re.compile(r"^(EMERGENCY|ESSENTIAL|GREEN|RESUMPTION|GENERAL) until (\S+): (.*)$"),
        lambda m: (
            gettext("%(class)s until %(day)s: %(why)s")
            % {"class": _class(m[1]), "day": m[2], "why": m[3]}
        ),
    ),
    # A checkpoint or service point as its __str__ gives it ("GY-N-TOLL 贵阳北收费站"): the name.
    (re.compile(r"^[A-Z]{2}(?:-[A-Z0-9]+)+ (.+)$"), lambda m: m[1]),
    (re.compile(r"^bound (\S+)$"), lambda m: gettext("bound %(id)s") % {"id": m[1]}),
    (
        re.compile(r"^(spouse|parent|child|sibling|other) (\S+)$"),
        lambda m: f"{realname.relation_label(m[1])} {m[2]}",
    ),
    (
        re.compile(r"^(\d+) tickets ended after a change of the rules$"),
        lambda m: gettext("%(n)s tickets ended after a change of the rules") % {"n": m[1]},
    ),
    (
        re.compile(r"^(\d+) registrations older than (\S+) deleted$"),
        lambda m: (
            gettext("%(n)s registrations older than %(day)s deleted") % {"n": m[1], "day": m[2]}
        ),
    ),
)


def _online_status(code: str) -> str:
    """The label of an online application's status, read from the model's choices through the
    app registry (the audit app sits below the online app and does not import it)."""
    field = apps.get_model("online", "OnlineApplication")._meta.get_field("status")
    return str(dict(field.flatchoices).get(code, code))


SUMMARIES += (
    (
        re.compile(r"^(\S+) ([a-z_]+)→([a-z_]+)$"),
        lambda m: f"{m[1]} {_online_status(m[2])} → {_online_status(m[3])}",
    ),
)


def summary_label(summary: str) -> str:
    """A summary written in a known form, in the reader's language; others as written."""
    for pattern, read in SUMMARIES:
        match = pattern.match(summary)
        if match:
            return read(match)
    return summary


ACTOR_LABELS: dict[str, Promise] = {"system": _("the system"), "anonymous": _("not logged in")}


def actor_label(entry: AuditEntry) -> str:
    """Staff by their login name; a citizen (whose login name is generated) by the masked
    mobile number; the system and the anonymous in words."""
    named = ACTOR_LABELS.get(entry.actor_label)
    if named:
        return str(named)
    actor = entry.actor
    if actor is not None and getattr(actor, "is_citizen", False):
        return f"{actor.get_role_display()} {actor.masked_mobile}"
    if entry.actor_label.startswith("citizen-"):
        return str(_("a citizen"))
    return entry.actor_label


def entry_labels(entry: AuditEntry) -> dict[str, str]:
    """One entry as the auditor reads it."""
    return {
        "actor": actor_label(entry),
        "action": action_label(entry.action),
        "object": object_label(entry.object_type, entry.object_id),
        "summary": summary_label(entry.summary),
    }
