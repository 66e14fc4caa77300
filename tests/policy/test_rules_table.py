"""Every sentence of SPEC R1-R6 as cases for the pure engine with the default policy."""

from __future__ import annotations

import pytest

from trafficdesk.policy.document import default_policy
from trafficdesk.policy.rules import BusinessFacts, Decision, Situation, decide

POLICY = default_policy()

PLATE = BusinessFacts("PLATE_LICENCE", online=False)  # 车辆牌证, e.g. P01/P02
PLATE_ONLINE = BusinessFacts("PLATE_LICENCE", online=True)  # e.g. V01 replace a plate
LICENCE = BusinessFacts("LICENCE", online=False)
EXAM = BusinessFacts("EXAM", online=False)
REGISTRATION = BusinessFacts("REGISTRATION", online=False)
INSPECTION = BusinessFacts("INSPECTION", online=False)
VIOLATION = BusinessFacts("VIOLATION", online=False)
VIOLATION_ONLINE = BusinessFacts("VIOLATION", online=True)
ACCIDENT = BusinessFacts("ACCIDENT", online=False)


def at(
    level: str | None, phase: int = 3, kind: str = "hall", designated: bool = False
) -> Situation:
    return Situation(
        risk_level=level, region_phase=phase, point_kind=kind, designated_emergency=designated
    )


def rules(decision: Decision) -> set[str]:
    return {reason.rule for reason in decision.reasons}


# (sentence of the spec, situation, business, class, open?, window kinds, appointment?, factor, rule)
CASES = [
    # R1 high: only emergency windows are open, serving epidemic emergency vehicles and personnel.
    (
        "R1 high: designated point serves EMERGENCY at emergency windows at once",
        at("HIGH", designated=True),
        PLATE,
        "EMERGENCY",
        True,
        ("emergency",),
        False,
        0.3,
        "R4.EMERGENCY_AT_ONCE",
    ),
    (
        "R1 high: a point that is not designated is closed even to EMERGENCY",
        at("HIGH"),
        PLATE,
        "EMERGENCY",
        False,
        (),
        False,
        0.0,
        "R1.HIGH.NOT_DESIGNATED",
    ),
    (
        "R1 high: ESSENTIAL applicants are refused",
        at("HIGH", designated=True),
        PLATE,
        "ESSENTIAL",
        False,
        (),
        False,
        0.0,
        "R1.HIGH.EMERGENCY_ONLY",
    ),
    (
        "R1 high: GREEN applicants are refused",
        at("HIGH", designated=True),
        PLATE,
        "GREEN",
        False,
        (),
        False,
        0.0,
        "R1.HIGH.EMERGENCY_ONLY",
    ),
    (
        "R1 high: GENERAL applicants are refused",
        at("HIGH", designated=True),
        PLATE,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R1.HIGH.EMERGENCY_ONLY",
    ),
    (
        "R1 high: exams are closed even to EMERGENCY",
        at("HIGH", designated=True),
        EXAM,
        "EMERGENCY",
        False,
        (),
        False,
        0.0,
        "R1.HIGH.NOT_EMERGENCY_BUSINESS",
    ),
    (
        "R1 high: an online business points to the online channel",
        at("HIGH", designated=True),
        PLATE_ONLINE,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R7.ONLINE",
    ),
    (
        "R1 high caps the phase at 0",
        at("HIGH", phase=3, designated=True),
        PLATE,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R3.PHASE_CAPPED",
    ),
    # R1 medium: reopen in order; epidemic/key/important/farm supplies first.
    (
        "R1 medium: EMERGENCY first at emergency and green windows, no appointment",
        at("MEDIUM"),
        PLATE,
        "EMERGENCY",
        True,
        ("emergency", "green"),
        False,
        0.5,
        "R4.PRIORITY_FIRST",
    ),
    (
        "R1 medium: ESSENTIAL (key raw materials, important supplies) first",
        at("MEDIUM"),
        PLATE,
        "ESSENTIAL",
        True,
        ("emergency", "green"),
        False,
        0.5,
        "R4.PRIORITY_FIRST",
    ),
    (
        "R1 medium / R5: farm produce through the green channel",
        at("MEDIUM"),
        PLATE,
        "GREEN",
        True,
        ("emergency", "green"),
        False,
        0.5,
        "R5.GREEN_CHANNEL",
    ),
    (
        "R1 medium: others by appointment only, at reduced capacity, for businesses in phase",
        at("MEDIUM", phase=2),
        EXAM,
        "GENERAL",
        True,
        ("normal",),
        True,
        0.5,
        "R1.MEDIUM.BY_APPOINTMENT",
    ),
    (
        "R1 medium: others refused for a business outside the phase",
        at("MEDIUM", phase=1),
        EXAM,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R3.NOT_IN_PHASE",
    ),
    (
        "R1 medium caps the phase at 2: accidents (phase 3) are closed",
        at("MEDIUM", phase=3),
        ACCIDENT,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R3.PHASE_CAPPED",
    ),
    (
        "R1 medium: priority classes still wait for non-plate business to be in phase",
        at("MEDIUM", phase=1),
        EXAM,
        "ESSENTIAL",
        False,
        (),
        False,
        0.0,
        "R3.NOT_IN_PHASE",
    ),
    # R1 low: all window business reopens; windows raised to meet demand.
    (
        "R1 low: every business of the phase is open, walk-ins allowed, full capacity",
        at("LOW", phase=3),
        ACCIDENT,
        "GENERAL",
        True,
        ("normal",),
        False,
        1.0,
        "R1.LOW.OPEN",
    ),
    (
        "R1 low / R12: recommends more windows",
        at("LOW"),
        EXAM,
        "GENERAL",
        True,
        ("normal",),
        False,
        1.0,
        "R12.MORE_WINDOWS",
    ),
    (
        "R1 low: the region's phase still applies",
        at("LOW", phase=1),
        EXAM,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R3.NOT_IN_PHASE",
    ),
    # R1: online business is open at every level (the window answer names the online channel).
    (
        "R7: online alternative offered when a window is closed",
        at("MEDIUM", phase=1),
        VIOLATION_ONLINE,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R7.ONLINE",
    ),
    # R2: plate and licence business for resuming enterprises opens first (phase 1).
    (
        "R2: phase 1 opens plates and licences for work resumption",
        at("MEDIUM", phase=1),
        PLATE,
        "RESUMPTION",
        True,
        ("normal",),
        True,
        0.5,
        "R2.RESUMPTION_FIRST",
    ),
    (
        "R2: phase 1 opens driving licence business",
        at("LOW", phase=1),
        LICENCE,
        "GENERAL",
        True,
        ("normal",),
        False,
        1.0,
        "R1.LOW.OPEN",
    ),
    # R3: staged reopening.
    (
        "R3 phase 0: emergency only",
        at("LOW", phase=0),
        PLATE,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R3.PHASE0_EMERGENCY_ONLY",
    ),
    (
        "R3 phase 0: EMERGENCY is served at emergency windows",
        at("LOW", phase=0),
        PLATE,
        "EMERGENCY",
        True,
        ("emergency",),
        False,
        1.0,
        "R4.EMERGENCY_AT_ONCE",
    ),
    (
        "R3 phase 1: exams wait",
        at("LOW", phase=1),
        EXAM,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R3.NOT_IN_PHASE",
    ),
    (
        "R3 phase 2: driving exams",
        at("LOW", phase=2, kind="exam_centre"),
        EXAM,
        "GENERAL",
        True,
        ("normal",),
        False,
        1.0,
        "R1.LOW.OPEN",
    ),
    (
        "R3 phase 2: vehicle registration",
        at("LOW", phase=2),
        REGISTRATION,
        "GENERAL",
        True,
        ("normal",),
        False,
        1.0,
        "R1.LOW.OPEN",
    ),
    (
        "R3 phase 2: vehicle inspection",
        at("LOW", phase=2),
        INSPECTION,
        "GENERAL",
        True,
        ("normal",),
        False,
        1.0,
        "R1.LOW.OPEN",
    ),
    (
        "R3 phase 2: violation processing",
        at("LOW", phase=2),
        VIOLATION,
        "GENERAL",
        True,
        ("normal",),
        False,
        1.0,
        "R1.LOW.OPEN",
    ),
    (
        "R3 phase 2: branch offices still closed",
        at("LOW", phase=2, kind="branch"),
        PLATE,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R3.POINT_KIND_NOT_YET",
    ),
    (
        "R3 phase 3: branch offices",
        at("LOW", phase=3, kind="branch"),
        PLATE,
        "GENERAL",
        True,
        ("normal",),
        False,
        1.0,
        "R1.LOW.OPEN",
    ),
    (
        "R3 phase 3: quick-claim centres",
        at("LOW", phase=3, kind="quick_claim"),
        ACCIDENT,
        "GENERAL",
        True,
        ("normal",),
        False,
        1.0,
        "R1.LOW.OPEN",
    ),
    (
        "R3 phase 3: social service stations",
        at("LOW", phase=3, kind="service_station"),
        VIOLATION,
        "GENERAL",
        True,
        ("normal",),
        False,
        1.0,
        "R1.LOW.OPEN",
    ),
    (
        "R3 phase 2: service stations closed",
        at("LOW", phase=2, kind="service_station"),
        VIOLATION,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R3.POINT_KIND_NOT_YET",
    ),
    # R4: expedited, by-appointment and convenient handling; emergencies at once.
    (
        "R4: emergency vehicles at emergency windows at once at low risk too",
        at("LOW"),
        PLATE,
        "EMERGENCY",
        True,
        ("emergency", "green", "normal"),
        False,
        1.0,
        "R4.PRIORITY_FIRST",
    ),
    # R5: green channel.
    (
        "R5: green channel at low risk",
        at("LOW"),
        PLATE,
        "GREEN",
        True,
        ("emergency", "green", "normal"),
        False,
        1.0,
        "R5.GREEN_CHANNEL",
    ),
    # R6: freight and worker transport get enough windows and fast service.
    (
        "R6: freight/worker-transport vehicles use green and normal windows at low risk",
        at("LOW"),
        PLATE,
        "RESUMPTION",
        True,
        ("green", "normal"),
        False,
        1.0,
        "R2.RESUMPTION_FIRST",
    ),
    # R11: an unassessed county is treated as high risk until assessed.
    (
        "R11: unassessed county is treated as HIGH",
        at(None, designated=True),
        PLATE,
        "GENERAL",
        False,
        (),
        False,
        0.0,
        "R1.UNASSESSED",
    ),
]


@pytest.mark.parametrize(
    (
        "sentence",
        "situation",
        "business",
        "applicant_class",
        "is_open",
        "kinds",
        "appointment",
        "factor",
        "rule",
    ),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_spec_sentence(
    sentence: str,
    situation: Situation,
    business: BusinessFacts,
    applicant_class: str,
    is_open: bool,
    kinds: tuple[str, ...],
    appointment: bool,
    factor: float,
    rule: str,
) -> None:
    decision = decide(POLICY, situation, business, applicant_class)
    assert decision.open is is_open, decision.reasons
    assert decision.window_kinds == kinds
    assert decision.appointment_required is appointment
    assert decision.capacity_factor == factor
    assert rule in rules(decision), decision.reasons
    assert all(reason.zh and reason.en for reason in decision.reasons)


def test_unknown_class_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown applicant class"):
        decide(POLICY, at("LOW"), PLATE, "VIP")
