"""The policy as data: a validated document that a regional administrator edits (SPEC R1-R6)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trafficdesk.core.vocabulary import ApplicantClass, RiskLevel, ServicePointKind, WindowKind

LEVELS = tuple(RiskLevel.values)
CLASSES = tuple(ApplicantClass.values)
MAX_PHASE = 3
DEFAULT_POLICY_FILE = Path(__file__).parent / "data" / "default_policy.json"


class PolicyDocument(BaseModel):
    """Validated so that no edit can make a higher risk level open something a lower one closes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level_phase_cap: dict[str, int] = Field(description="highest phase each risk level allows")
    phase_categories: dict[str, list[str]] = Field(
        description="phase → business categories opening then"
    )
    phase_point_kinds: dict[str, list[ServicePointKind]] = Field(default_factory=dict)
    default_business_phase: int = Field(MAX_PHASE, ge=0, le=MAX_PHASE)
    priority_classes: list[ApplicantClass]
    priority_categories: list[str]
    capacity_factor: dict[str, float]
    walk_in_allowed: dict[str, bool]
    window_kinds: dict[str, dict[str, list[WindowKind]]]
    unassessed_county_level: RiskLevel = RiskLevel.HIGH

    @model_validator(mode="after")
    def _risk_never_opens_more(self) -> PolicyDocument:
        problems: list[str] = []
        for name in ("level_phase_cap", "capacity_factor", "walk_in_allowed"):
            if set(getattr(self, name)) != set(LEVELS):
                problems.append(f"{name} needs LOW, MEDIUM and HIGH")
        for level, by_class in self.window_kinds.items():
            if level not in LEVELS:
                problems.append(f"window_kinds: unknown risk level {level!r}")
            unknown = set(by_class) - set(CLASSES)
            if unknown:
                problems.append(
                    f"window_kinds.{level}: unknown applicant classes {sorted(unknown)}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        caps = self.level_phase_cap
        if not (
            MAX_PHASE >= caps[RiskLevel.LOW] >= caps[RiskLevel.MEDIUM] >= caps[RiskLevel.HIGH] >= 0
        ):
            problems.append("phase caps must not rise with the risk level and lie in 0..3")
        factors = self.capacity_factor
        if not (
            1.0
            >= factors[RiskLevel.LOW]
            >= factors[RiskLevel.MEDIUM]
            >= factors[RiskLevel.HIGH]
            > 0
        ):
            problems.append("capacity factors must lie in (0, 1] and not rise with the risk level")
        walk = self.walk_in_allowed
        if (walk[RiskLevel.HIGH] and not walk[RiskLevel.MEDIUM]) or (
            walk[RiskLevel.MEDIUM] and not walk[RiskLevel.LOW]
        ):
            problems.append("walk-ins allowed at a higher risk level must be allowed at lower ones")
        for phase in list(self.phase_categories) + list(self.phase_point_kinds):
            if not phase.isdigit() or not 1 <= int(phase) <= MAX_PHASE:
                problems.append(f"phase {phase!r} must be 1, 2 or 3 (phase 0 is emergency only)")
        seen: dict[str, str] = {}
        for phase, categories in self.phase_categories.items():
            for category in categories:
                if category in seen:
                    problems.append(
                        f"category {category} is in phases {seen[category]} and {phase}"
                    )
                seen[category] = phase
        for lower, higher in (
            (RiskLevel.LOW, RiskLevel.MEDIUM),
            (RiskLevel.MEDIUM, RiskLevel.HIGH),
        ):
            for applicant_class in CLASSES:
                wider = set(self.window_kinds.get(lower, {}).get(applicant_class, []))
                narrower = set(self.window_kinds.get(higher, {}).get(applicant_class, []))
                if not narrower <= wider:
                    problems.append(
                        f"{applicant_class} may use {sorted(narrower - wider)} at {higher} but not at {lower}"
                    )
        for level in LEVELS:
            by_class = self.window_kinds.get(level, {})
            someone_at_emergency = any(WindowKind.EMERGENCY in kinds for kinds in by_class.values())
            if someone_at_emergency and WindowKind.EMERGENCY not in by_class.get(
                ApplicantClass.EMERGENCY, []
            ):
                problems.append(
                    f"at {level}, EMERGENCY applicants must be served at emergency windows"
                )
        if ApplicantClass.EMERGENCY not in self.priority_classes:
            problems.append("EMERGENCY must be a priority class")
        if WindowKind.EMERGENCY not in self.window_kinds.get(RiskLevel.HIGH, {}).get(
            ApplicantClass.EMERGENCY, []
        ):
            problems.append("at HIGH, EMERGENCY applicants must be served at emergency windows")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def business_phase(self, category: str, point_kind: str) -> int:
        """The phase from which a business of this category opens at this kind of point."""
        by_category = next(
            (int(p) for p, cats in self.phase_categories.items() if category in cats),
            self.default_business_phase,
        )
        by_kind = next(
            (int(p) for p, kinds in self.phase_point_kinds.items() if point_kind in kinds), 0
        )
        return max(by_category, by_kind)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def default_policy() -> PolicyDocument:
    return PolicyDocument.model_validate(
        json.loads(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    )
