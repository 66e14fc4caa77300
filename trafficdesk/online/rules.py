"""Online applications (SPEC R7): the status flow, the progress a citizen sees, and the
application forms with their pickers (licence classes, reasons), as data.

Every label here is an English message id translated in the .po file; pages, SMS texts and the
API take statuses, steps, reasons and licence classes from this module only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trafficdesk.core.validators import LICENCE_CLASSES, InvalidValue, parse_licence_classes


class Status(models.TextChoices):
    """Where an application is in the flow; the labels are what applicants and staff read."""

    SUBMITTED = "submitted", pgettext_lazy("online application status", "submitted")
    UNDER_REVIEW = "under_review", pgettext_lazy("online application status", "under review")
    APPROVED = "approved", pgettext_lazy("online application status", "approved")
    REJECTED = "rejected", pgettext_lazy("online application status", "not accepted")
    NEEDS_MORE = "needs_more", pgettext_lazy("online application status", "more documents needed")
    ISSUED = "issued", pgettext_lazy("online application status", "document made")
    SHIPPED = "shipped", pgettext_lazy("online application status", "mailed")
    DELIVERED = "delivered", pgettext_lazy("online application status", "received")
    WITHDRAWN = "withdrawn", pgettext_lazy("online application status", "withdrawn")


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset({Status.UNDER_REVIEW, Status.WITHDRAWN}),
    Status.UNDER_REVIEW: frozenset({Status.APPROVED, Status.REJECTED, Status.NEEDS_MORE}),
    Status.NEEDS_MORE: frozenset({Status.SUBMITTED, Status.WITHDRAWN}),
    Status.APPROVED: frozenset({Status.ISSUED}),
    Status.ISSUED: frozenset({Status.SHIPPED}),
    Status.SHIPPED: frozenset({Status.DELIVERED}),
    Status.REJECTED: frozenset(),
    Status.DELIVERED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}
#: The applicant's own moves: resubmitting what was asked for, and withdrawing the application
#: before the review starts or while more documents are asked for.
CITIZEN_MOVES = frozenset(
    {
        (Status.NEEDS_MORE, Status.SUBMITTED),
        (Status.SUBMITTED, Status.WITHDRAWN),
        (Status.NEEDS_MORE, Status.WITHDRAWN),
    }
)
#: Applications no one works on any more (left out of the review queue).
CLOSED = frozenset({Status.REJECTED, Status.DELIVERED, Status.WITHDRAWN})

#: What the clerk's button for each step says (the verb, not the resulting status).
ACTION_LABELS: Mapping[Status, Promise] = {
    Status.UNDER_REVIEW: pgettext_lazy("online application action", "Start the review"),
    Status.APPROVED: pgettext_lazy("online application action", "Approve"),
    Status.REJECTED: pgettext_lazy("online application action", "Refuse"),
    Status.NEEDS_MORE: pgettext_lazy("online application action", "Ask for more documents"),
    Status.ISSUED: pgettext_lazy("online application action", "The document is made"),
    Status.SHIPPED: pgettext_lazy("online application action", "Mail it"),
}


def allowed(current: str, target: str, *, mailed: bool) -> bool:
    """Whether the flow allows this step. Nothing mailed ends at ISSUED."""
    source, goal = Status(current), Status(target)
    if not mailed and source == Status.ISSUED:
        return False
    return goal in TRANSITIONS[source]


def is_final(status: str, *, mailed: bool) -> bool:
    return not any(allowed(status, s, mailed=mailed) for s in Status)


def can_withdraw(status: str) -> bool:
    return (Status(status), Status.WITHDRAWN) in CITIZEN_MOVES


def status_label(status: str) -> str:
    """The label of a status value (an unknown value is shown as a dash, never raw)."""
    try:
        return str(Status(status).label)
    except ValueError:
        return "—"


# --- the progress stepper -------------------------------------------------------------------


class Step(StrEnum):
    SUBMITTED = "submitted"
    REVIEW = "review"
    MAKING = "making"
    MAILED = "mailed"
    RECEIVED = "received"
    DONE = "done"


STEP_LABELS: Mapping[Step, Promise] = {
    Step.SUBMITTED: pgettext_lazy("online application step", "Submitted"),
    Step.REVIEW: pgettext_lazy("online application step", "Review"),
    Step.MAKING: pgettext_lazy("online application step", "Making the document"),
    Step.MAILED: pgettext_lazy("online application step", "Mailed"),
    Step.RECEIVED: pgettext_lazy("online application step", "Received"),
    Step.DONE: pgettext_lazy("online application step", "Done"),
}
MAILED_STEPS: tuple[Step, ...] = (
    Step.SUBMITTED,
    Step.REVIEW,
    Step.MAKING,
    Step.MAILED,
    Step.RECEIVED,
)
UNMAILED_STEPS: tuple[Step, ...] = (Step.SUBMITTED, Step.REVIEW, Step.DONE)

#: The one mapping from a status to the step it belongs to (mailed, not mailed). REJECTED and
#: WITHDRAWN have no step: they are shown as such, not as a stalled progress bar.
STATUS_STEP: Mapping[Status, tuple[Step, Step]] = {
    Status.SUBMITTED: (Step.SUBMITTED, Step.SUBMITTED),
    Status.UNDER_REVIEW: (Step.REVIEW, Step.REVIEW),
    Status.NEEDS_MORE: (Step.REVIEW, Step.REVIEW),
    Status.APPROVED: (Step.MAKING, Step.DONE),
    Status.ISSUED: (Step.MAKING, Step.DONE),
    Status.SHIPPED: (Step.MAILED, Step.DONE),
    Status.DELIVERED: (Step.RECEIVED, Step.DONE),
}
#: Statuses at which the current step is itself complete (the whole flow is over).
FINISHED = frozenset({Status.DELIVERED})


@dataclass(frozen=True)
class StepState:
    step: Step
    label: str
    state: str  # "done", "current" or "todo"


def progress(status: str, *, mailed: bool) -> list[StepState]:
    """The stepper for an application: every step done, current or still to come; empty for
    a refused application (no step is reached)."""
    current = Status(status)
    if current not in STATUS_STEP:
        return []
    steps = MAILED_STEPS if mailed else UNMAILED_STEPS
    here = STATUS_STEP[current][0 if mailed else 1]
    finished = current in FINISHED or (not mailed and current == Status.ISSUED)
    index = steps.index(here)
    states = []
    for i, step in enumerate(steps):
        state = "done" if i < index or (i == index and finished) else "todo"
        if i == index and not finished:
            state = "current"
        states.append(StepState(step, str(STEP_LABELS[step]), state))
    return states


# --- pickers ---------------------------------------------------------------------------------

#: The label of every licence class (准驾车型), in the order of LICENCE_CLASSES.
LICENCE_CLASS_LABELS: Mapping[str, Promise] = {
    "A1": _("large bus"),
    "A2": _("heavy tractor-trailer"),
    "A3": _("city bus"),
    "B1": _("medium bus"),
    "B2": _("large lorry"),
    "C1": _("small car"),
    "C2": _("small automatic car"),
    "C3": _("low-speed lorry"),
    "C4": _("three-wheeled vehicle"),
    "C5": _("small automatic car for disabled drivers"),
    "C6": _("light tractor-trailer"),
    "D": _("three-wheeled motorcycle"),
    "E": _("two-wheeled motorcycle"),
    "F": _("moped"),
    "M": _("wheeled self-propelled machinery"),
    "N": _("trolleybus"),
    "P": _("tram"),
}


def licence_class_label(code: str) -> str:
    """The class as printed on the licence, then its name ("C1 小型汽车")."""
    label = LICENCE_CLASS_LABELS.get(code)
    return f"{code} {label}" if label is not None else code


def licence_class_choices() -> list[tuple[str, str]]:
    """The licence-class picker: (code, "C1 小型汽车") in the licence's own order."""
    return [(code, licence_class_label(code)) for code in LICENCE_CLASSES]


def licence_classes_label(value: str, classes: Sequence[str] | None = None) -> str:
    """A stored value such as "A2D" shown as "A2 重型牵引挂车、D 普通三轮摩托车"."""
    try:
        found = classes if classes is not None else parse_licence_classes(value)
    except InvalidValue:
        return value
    return "、".join(licence_class_label(c) for c in found)


class Reason(models.TextChoices):
    """Why the applicant applies (申请原因), chosen from the business's own list."""

    LOST = "lost", pgettext_lazy("application reason", "lost")
    STOLEN = "stolen", pgettext_lazy("application reason", "stolen")
    DAMAGED = "damaged", pgettext_lazy("application reason", "damaged")
    WORN = "worn", pgettext_lazy("application reason", "worn or unreadable")
    DETAILS_CHANGED = (
        "details_changed",
        pgettext_lazy("application reason", "the details on it changed"),
    )
    ABROAD = "abroad", pgettext_lazy("application reason", "abroad")
    MILITARY = "military", pgettext_lazy("application reason", "in military service")
    ILLNESS = "illness", pgettext_lazy("application reason", "ill")
    DISASTER = "disaster", pgettext_lazy("application reason", "hit by a natural disaster")
    AWAY = (
        "away",
        pgettext_lazy("application reason", "the vehicle is away from its registration city"),
    )
    REAR_END = "rear_end", pgettext_lazy("application reason", "rear-end collision")
    LANE_CHANGE = "lane_change", pgettext_lazy("application reason", "scrape while changing lanes")
    REVERSING = "reversing", pgettext_lazy("application reason", "scrape while reversing")
    PARKED = "parked", pgettext_lazy("application reason", "hit while parked")
    OTHER = "other", pgettext_lazy("application reason", "other")


R = Reason
_REPLACE = (R.LOST, R.STOLEN)
_EXCHANGE = (R.DAMAGED, R.WORN)
_DEFER = (R.ABROAD, R.MILITARY, R.ILLNESS, R.DISASTER, R.OTHER)
REASONS: dict[str, tuple[Reason, ...]] = {
    "V01": _REPLACE,
    "V02": _EXCHANGE,
    "V03": _REPLACE,
    "V04": (*_EXCHANGE, R.DETAILS_CHANGED),
    "V10": (R.AWAY, R.OTHER),
    "D01": _REPLACE,
    "D03": _EXCHANGE,
    "D04": _DEFER,
    "D05": _DEFER,
    "D06": _DEFER,
    "X03": (R.REAR_END, R.LANE_CHANGE, R.REVERSING, R.PARKED, R.OTHER),
}
DEFAULT_REASONS: tuple[Reason, ...] = (R.OTHER,)


def reasons_for(code: str) -> tuple[Reason, ...]:
    """The reasons a business may be applied for."""
    return REASONS.get(code, DEFAULT_REASONS)


def reason_label(value: str) -> str:
    """A stored reason shown by its label; text kept from before the picker is shown as is."""
    try:
        return str(Reason(value).label)
    except ValueError:
        return value


# --- the forms ---------------------------------------------------------------------------------


class FieldKind(StrEnum):
    RESIDENT_ID = "resident_id"
    PLATE = "plate"
    MOBILE = "mobile"
    LICENCE_CLASSES = "licence_classes"
    REASON = "reason"
    TEXT = "text"
    VIN = "vin"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: Promise
    kind: FieldKind
    required: bool = True


OWNER_ID = FieldSpec("owner_id", _("owner's resident ID number"), FieldKind.RESIDENT_ID)
DRIVER_ID = FieldSpec("driver_id", _("driver's resident ID number"), FieldKind.RESIDENT_ID)
PLATE = FieldSpec("plate", _("plate number"), FieldKind.PLATE)
CLASSES = FieldSpec("classes", _("licence classes"), FieldKind.LICENCE_CLASSES)
REASON = FieldSpec("reason", pgettext_lazy("application form", "reason"), FieldKind.REASON)
NEW_MOBILE = FieldSpec("new_mobile", _("new mobile number"), FieldKind.MOBILE)
VIN = FieldSpec("vin", _("vehicle identification number (VIN)"), FieldKind.VIN)

FORMS: dict[str, tuple[FieldSpec, ...]] = {
    "V01": (OWNER_ID, PLATE, REASON),
    "V02": (OWNER_ID, PLATE, REASON),
    "V03": (OWNER_ID, PLATE, REASON),
    "V04": (OWNER_ID, PLATE, REASON),
    "V05": (OWNER_ID, PLATE),
    "V06": (OWNER_ID, PLATE),
    "V07": (OWNER_ID, VIN),
    "V08": (OWNER_ID, VIN),
    "V09": (OWNER_ID, PLATE, NEW_MOBILE),
    "V10": (OWNER_ID, PLATE, REASON),
    "V11": (OWNER_ID, PLATE),
    "V12": (OWNER_ID, VIN),
    "D01": (DRIVER_ID, CLASSES, REASON),
    "D02": (DRIVER_ID, CLASSES),
    "D03": (DRIVER_ID, CLASSES, REASON),
    "D04": (DRIVER_ID, REASON),
    "D05": (DRIVER_ID, REASON),
    "D06": (DRIVER_ID, REASON),
    "D07": (DRIVER_ID,),
    "D08": (DRIVER_ID, CLASSES),
    "D09": (DRIVER_ID,),
    "D10": (DRIVER_ID, NEW_MOBILE),
    "D11": (DRIVER_ID,),
    "X01": (DRIVER_ID, PLATE),
    "X02": (DRIVER_ID, PLATE),
    "X03": (DRIVER_ID, PLATE, REASON),
}
DEFAULT_FORM = (DRIVER_ID, REASON)
MAX_ATTACHMENTS = 10


def form_for(code: str) -> tuple[FieldSpec, ...]:
    return FORMS.get(code, DEFAULT_FORM)


#: The form fields that name the applicant (the person the application is for).
APPLICANT_ID_FIELDS = ("owner_id", "driver_id")


def centre_codes(form: dict[str, str]) -> list[str]:
    """The region codes an application may be routed to, the nearest first: the applicant's
    county, city and province (GB/T 2260, from the first six digits of the resident ID
    number in the form); empty when the form names no person (an enterprise's vehicle)."""
    for name in APPLICANT_ID_FIELDS:
        number = str(form.get(name, ""))
        if len(number) == 18 and number[:6].isdigit():
            code = number[:6]
            return list(dict.fromkeys([code, code[:4] + "00", code[:2] + "0000"]))
    return []
