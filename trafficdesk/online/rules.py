"""Online applications (SPEC R7): the status flow and the application forms, as data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    NEEDS_MORE = "needs_more"
    ISSUED = "issued"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


STATUS_ZH = {
    Status.SUBMITTED: "已提交",
    Status.UNDER_REVIEW: "审核中",
    Status.APPROVED: "审核通过",
    Status.REJECTED: "不予受理",
    Status.NEEDS_MORE: "需补充材料",
    Status.ISSUED: "已制证",
    Status.SHIPPED: "已寄出",
    Status.DELIVERED: "已签收",
}

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset({Status.UNDER_REVIEW}),
    Status.UNDER_REVIEW: frozenset({Status.APPROVED, Status.REJECTED, Status.NEEDS_MORE}),
    Status.NEEDS_MORE: frozenset({Status.SUBMITTED}),
    Status.APPROVED: frozenset({Status.ISSUED}),
    Status.ISSUED: frozenset({Status.SHIPPED}),
    Status.SHIPPED: frozenset({Status.DELIVERED}),
    Status.REJECTED: frozenset(),
    Status.DELIVERED: frozenset(),
}
CITIZEN_MOVES = frozenset({(Status.NEEDS_MORE, Status.SUBMITTED)})


def allowed(current: str, target: str, *, mailed: bool) -> bool:
    """Whether the flow allows this step. Nothing mailed ends at ISSUED."""
    source, goal = Status(current), Status(target)
    if not mailed and source == Status.ISSUED:
        return False
    return goal in TRANSITIONS[source]


def is_final(status: str, *, mailed: bool) -> bool:
    return not any(allowed(status, s, mailed=mailed) for s in Status)


class FieldKind(StrEnum):
    RESIDENT_ID = "resident_id"
    PLATE = "plate"
    MOBILE = "mobile"
    LICENCE_CLASSES = "licence_classes"
    TEXT = "text"
    VIN = "vin"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label_zh: str
    label_en: str
    kind: FieldKind
    required: bool = True


OWNER_ID = FieldSpec(
    "owner_id", "机动车所有人身份证号", "owner's resident ID number", FieldKind.RESIDENT_ID
)
DRIVER_ID = FieldSpec(
    "driver_id", "驾驶人身份证号", "driver's resident ID number", FieldKind.RESIDENT_ID
)
PLATE = FieldSpec("plate", "号牌号码", "plate number", FieldKind.PLATE)
CLASSES = FieldSpec("classes", "准驾车型", "licence classes", FieldKind.LICENCE_CLASSES)
REASON = FieldSpec("reason", "申请原因", "reason", FieldKind.TEXT)
NEW_MOBILE = FieldSpec("new_mobile", "新手机号码", "new mobile number", FieldKind.MOBILE)
VIN = FieldSpec("vin", "车辆识别代号", "vehicle identification number (VIN)", FieldKind.VIN)

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
