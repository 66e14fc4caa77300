"""The reopening policy engine: pure functions over plain data (SPEC R1-R6, R11, R12).

`Engine(policy).decide(situation, business, applicant_class)` answers whether a service
point offers a business to a class of applicant, at which window kinds, whether an
appointment is needed, at what capacity factor, and why. Decisions depend only on a handful
of values, so the engine memoises them; a province-wide sweep is mostly dictionary look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from trafficdesk.core.vocabulary import (
    CLASS_RANK,
    ApplicantClass,
    RiskLevel,
    WindowKind,
    name_in,
)
from trafficdesk.policy.document import PolicyDocument


@cache
def _zh(kind: str, value: str) -> str:
    """The Chinese name of a risk level or applicant class, for the reasons' Chinese text."""
    member = RiskLevel(value) if kind == "level" else ApplicantClass(value)
    return name_in(member, "zh-hans")


def level_zh(level: str) -> str:
    return _zh("level", level)


def class_zh(applicant_class: str) -> str:
    return _zh("class", applicant_class)


def is_priority(policy: PolicyDocument, applicant_class: str) -> bool:
    """Whether this class is served first under this policy: it may use the capacity held
    for priority, and emergency windows (the policy's `priority_classes`)."""
    return applicant_class in policy.priority_classes


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Situation:
    """Where and when: the county's risk level (None if never assessed), the region's phase
    as its administrator set it, and the kind of service point."""

    risk_level: str | None
    region_phase: int
    point_kind: str
    designated_emergency: bool


@dataclass(frozen=True, slots=True)
class BusinessFacts:
    category: str
    online: bool


@dataclass(frozen=True, slots=True)
class Decision:
    open: bool
    window_kinds: tuple[str, ...]
    appointment_required: bool
    capacity_factor: float
    reasons: tuple[Reason, ...]
    risk_level: str
    effective_phase: int
    online_alternative: bool = False
    recommend_more_windows: bool = False


@dataclass
class Engine:
    policy: PolicyDocument
    _memo: dict[tuple[Situation, BusinessFacts, str], Decision] = field(default_factory=dict)

    def decide(
        self, situation: Situation, business: BusinessFacts, applicant_class: str
    ) -> Decision:
        key = (situation, business, applicant_class)
        decision = self._memo.get(key)
        if decision is None:
            decision = decide(self.policy, situation, business, applicant_class)
            self._memo[key] = decision
        return decision


def effective_phase(policy: PolicyDocument, risk_level: str, region_phase: int) -> int:
    return max(0, min(region_phase, policy.level_phase_cap[risk_level]))


def decide(
    policy: PolicyDocument, situation: Situation, business: BusinessFacts, applicant_class: str
) -> Decision:
    if applicant_class not in CLASS_RANK:
        raise ValueError(f"unknown applicant class {applicant_class!r}")
    reasons: list[Reason] = []
    level = situation.risk_level
    if level is None:
        level = policy.unassessed_county_level
        reasons.append(
            Reason(
                "R1.UNASSESSED",
                f"该区县尚未评定风险等级，按{level_zh(level)}处理",
                f"the county has no risk assessment; treated as {level}",
            )
        )
    phase = effective_phase(policy, level, situation.region_phase)
    if phase < situation.region_phase:
        reasons.append(
            Reason(
                "R3.PHASE_CAPPED",
                f"{level_zh(level)}地区最高只能恢复到第{phase}阶段（本地设定为第{situation.region_phase}阶段）",
                f"{level} risk caps the phase at {phase} (the region is set to phase {situation.region_phase})",
            )
        )
    context = _Context(policy, situation, business, applicant_class, level, phase, reasons)
    return context.decide()


@dataclass
class _Context:
    policy: PolicyDocument
    situation: Situation
    business: BusinessFacts
    applicant_class: str
    level: str
    phase: int
    reasons: list[Reason]

    def decide(self) -> Decision:
        policy, situation, business = self.policy, self.situation, self.business
        kind_phase = max(
            (
                int(p)
                for p, kinds in policy.phase_point_kinds.items()
                if situation.point_kind in kinds
            ),
            default=0,
        )
        if kind_phase > self.phase:
            return self.closed(
                "R3.POINT_KIND_NOT_YET",
                f"此类服务场所在第{kind_phase}阶段恢复，当前为第{self.phase}阶段",
                f"this kind of service point reopens in phase {kind_phase}; the current phase is {self.phase}",
            )
        is_emergency = self.applicant_class == ApplicantClass.EMERGENCY
        priority_business = business.category in policy.priority_categories
        if self.level == RiskLevel.HIGH:
            if not situation.designated_emergency:
                return self.closed(
                    "R1.HIGH.NOT_DESIGNATED",
                    "高风险地区仅指定场所的应急窗口开放",
                    "in a high-risk county only designated service points keep emergency windows open",
                )
            if not is_emergency:
                return self.closed(
                    "R1.HIGH.EMERGENCY_ONLY",
                    "高风险地区应急窗口仅服务防疫应急车辆和人员",
                    "in a high-risk county emergency windows serve only epidemic emergency vehicles and staff",
                )
            if not priority_business:
                return self.closed(
                    "R1.HIGH.NOT_EMERGENCY_BUSINESS",
                    "高风险地区应急窗口仅办理车辆牌证应急业务",
                    "in a high-risk county emergency windows handle only plate and licence business",
                )
            return self.opened(
                (WindowKind.EMERGENCY,),
                appointment=False,
                rule=(
                    "R4.EMERGENCY_AT_ONCE",
                    "应急窗口急事急办",
                    "handled at the emergency window at once",
                ),
            )
        if self.phase == 0:
            if not (is_emergency and priority_business):
                return self.closed(
                    "R3.PHASE0_EMERGENCY_ONLY",
                    "当前为第0阶段，仅办理应急业务",
                    "phase 0: emergency business only",
                )
            return self.opened(
                (WindowKind.EMERGENCY,),
                appointment=False,
                rule=(
                    "R4.EMERGENCY_AT_ONCE",
                    "应急窗口急事急办",
                    "handled at the emergency window at once",
                ),
            )
        if is_priority(policy, self.applicant_class) and priority_business:
            rule = (
                (
                    "R5.GREEN_CHANNEL",
                    "鲜活农产品和生活必需品运输车辆走绿色通道快速办理",
                    "fresh produce and daily necessities go through the green channel",
                )
                if self.applicant_class == ApplicantClass.GREEN
                else (
                    "R4.PRIORITY_FIRST",
                    f"{class_zh(self.applicant_class)}优先办理（加急办）",
                    f"{self.applicant_class} applicants are served first (expedited)",
                )
            )
            kinds = self.window_kinds()
            if not kinds:
                return self.no_window()
            return self.opened(kinds, appointment=False, rule=rule)
        needed = policy.business_phase(business.category, situation.point_kind)
        if needed > self.phase:
            return self.closed(
                "R3.NOT_IN_PHASE",
                f"该业务在第{needed}阶段恢复，当前为第{self.phase}阶段",
                f"this business reopens in phase {needed}; the current phase is {self.phase}",
            )
        kinds = self.window_kinds()
        if not kinds:
            return self.no_window()
        walk_in = policy.walk_in_allowed[self.level]
        if walk_in:
            rule = (
                "R1.LOW.OPEN",
                "低风险地区窗口业务全面恢复，可现场取号",
                "low risk: window business is open, walk-ins welcome",
            )
        else:
            rule = (
                "R1.MEDIUM.BY_APPOINTMENT",
                f"{level_zh(self.level)}地区须预约办理，限流运行",
                f"{self.level} risk: by appointment only, at reduced capacity",
            )
        if (
            self.applicant_class == ApplicantClass.RESUMPTION
            and business.category in policy.priority_categories
        ):
            self.reasons.append(
                Reason(
                    "R2.RESUMPTION_FIRST",
                    "复工复产企业车辆牌证业务优先恢复",
                    "plate and licence business for resuming enterprises opens first",
                )
            )
        return self.opened(kinds, appointment=not walk_in, rule=rule)

    def no_window(self) -> Decision:
        return self.closed(
            "R1.NO_WINDOW_FOR_CLASS",
            f"{level_zh(self.level)}地区暂无服务该类申请人的窗口",
            f"at {self.level} risk no window kind serves this class of applicant",
        )

    def window_kinds(self) -> tuple[str, ...]:
        by_class = self.policy.window_kinds.get(self.level, {})
        return tuple(by_class.get(self.applicant_class, ()))

    def opened(
        self, kinds: tuple[str, ...], *, appointment: bool, rule: tuple[str, str, str]
    ) -> Decision:
        self.reasons.append(Reason(*rule))
        more = self.level == RiskLevel.LOW
        if more:
            self.reasons.append(
                Reason(
                    "R12.MORE_WINDOWS", "建议根据需求增开窗口", "open more windows to meet demand"
                )
            )
        return Decision(
            open=True,
            window_kinds=kinds,
            appointment_required=appointment,
            capacity_factor=self.policy.capacity_factor[self.level],
            reasons=tuple(self.reasons),
            risk_level=self.level,
            effective_phase=self.phase,
            online_alternative=self.business.online,
            recommend_more_windows=more,
        )

    def closed(self, rule: str, zh: str, en: str) -> Decision:
        self.reasons.append(Reason(rule, zh, en))
        if self.business.online:
            self.reasons.append(
                Reason(
                    "R7.ONLINE", "该业务可网上办理，足不出户", "this business can be done online"
                )
            )
        return Decision(
            open=False,
            window_kinds=(),
            appointment_required=False,
            capacity_factor=0.0,
            reasons=tuple(self.reasons),
            risk_level=self.level,
            effective_phase=self.phase,
            online_alternative=self.business.online,
        )


def readiness_key(
    ppe_complete: bool, service_area_m2: int, diversion_ease: int, code: str
) -> tuple[bool, int, int, str]:
    """R2: points with complete protective equipment first, then easier diversion, then area."""
    return (not ppe_complete, -diversion_ease, -service_area_m2, code)
