"""Properties of the engine, over the default policy and over any policy the validator accepts."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trafficdesk.policy.document import CLASSES, PolicyDocument, default_policy
from trafficdesk.policy.rules import BusinessFacts, Situation, decide

CATEGORIES = [
    "PLATE_LICENCE",
    "LICENCE",
    "EXAM",
    "REGISTRATION",
    "INSPECTION",
    "VIOLATION",
    "ACCIDENT",
    "OTHER",
]
POINT_KINDS = ["hall", "branch", "exam_centre", "quick_claim", "service_station"]
KINDS = ["normal", "emergency", "green"]

situations = st.builds(
    Situation,
    risk_level=st.sampled_from(["LOW", "MEDIUM", "HIGH", None]),
    region_phase=st.integers(0, 3),
    point_kind=st.sampled_from(POINT_KINDS),
    designated_emergency=st.booleans(),
)
businesses = st.builds(BusinessFacts, category=st.sampled_from(CATEGORIES), online=st.booleans())
classes = st.sampled_from(CLASSES)


@st.composite
def policies(draw: Any) -> PolicyDocument:
    """Random variations of the default policy that the validator accepts."""
    base = default_policy().model_dump(mode="json")
    caps = sorted(draw(st.lists(st.integers(0, 3), min_size=3, max_size=3)), reverse=True)
    factors = sorted(draw(st.lists(st.floats(0.05, 1.0), min_size=3, max_size=3)), reverse=True)
    walk = sorted(draw(st.lists(st.booleans(), min_size=3, max_size=3)), reverse=True)
    window_kinds: dict[str, dict[str, list[str]]] = {"LOW": {}, "MEDIUM": {}, "HIGH": {}}
    for applicant_class in CLASSES:
        low = draw(st.sets(st.sampled_from(KINDS)))
        medium = draw(st.sets(st.sampled_from(sorted(low)))) if low else set()
        high = draw(st.sets(st.sampled_from(sorted(medium)))) if medium else set()
        if applicant_class == "EMERGENCY":  # the validator insists on it
            low, medium, high = low | {"emergency"}, medium | {"emergency"}, high | {"emergency"}
        for level, kinds in (("LOW", low), ("MEDIUM", medium), ("HIGH", high)):
            if kinds:
                window_kinds[level][applicant_class] = sorted(kinds)
    base.update(
        level_phase_cap=dict(zip(["LOW", "MEDIUM", "HIGH"], caps, strict=True)),
        capacity_factor=dict(zip(["LOW", "MEDIUM", "HIGH"], factors, strict=True)),
        walk_in_allowed=dict(zip(["LOW", "MEDIUM", "HIGH"], walk, strict=True)),
        window_kinds=window_kinds,
        priority_classes=[
            "EMERGENCY",
            *draw(st.sets(st.sampled_from(["ESSENTIAL", "GREEN", "RESUMPTION"]))),
        ],
    )
    try:
        return PolicyDocument.model_validate(base)
    except ValueError:
        assume(False)
        raise


any_policy = st.one_of(st.just(default_policy()), policies())
RISK_ORDER = ["LOW", "MEDIUM", "HIGH"]


@settings(max_examples=200)
@given(any_policy, situations, businesses, classes)
def test_raising_risk_never_opens_anything(
    policy: PolicyDocument, situation: Situation, business: BusinessFacts, applicant_class: str
) -> None:
    decisions = [
        decide(
            policy,
            Situation(
                level, situation.region_phase, situation.point_kind, situation.designated_emergency
            ),
            business,
            applicant_class,
        )
        for level in RISK_ORDER
    ]
    for lower, higher in zip(decisions, decisions[1:], strict=False):
        if higher.open:
            assert lower.open
            assert set(higher.window_kinds) <= set(lower.window_kinds)
            assert higher.capacity_factor <= lower.capacity_factor
            assert (
                lower.appointment_required <= higher.appointment_required
                or not higher.appointment_required
            )


@settings(max_examples=200)
@given(any_policy, situations, businesses, classes)
def test_every_closed_decision_has_a_reason(
    policy: PolicyDocument, situation: Situation, business: BusinessFacts, applicant_class: str
) -> None:
    decision = decide(policy, situation, business, applicant_class)
    if not decision.open:
        assert decision.reasons
        assert decision.window_kinds == () and decision.capacity_factor == 0
    assert all(reason.rule and reason.zh and reason.en for reason in decision.reasons)
    if not decision.open and business.online:
        assert any(reason.rule == "R7.ONLINE" for reason in decision.reasons)


@settings(max_examples=200)
@given(any_policy, situations, businesses, classes)
def test_emergency_is_never_refused_at_an_open_emergency_window(
    policy: PolicyDocument, situation: Situation, business: BusinessFacts, applicant_class: str
) -> None:
    served = decide(policy, situation, business, applicant_class)
    if served.open and "emergency" in served.window_kinds:
        emergency = decide(policy, situation, business, "EMERGENCY")
        assert emergency.open and "emergency" in emergency.window_kinds


@given(situations, businesses, classes)
def test_raising_the_phase_never_closes_anything(
    situation: Situation, business: BusinessFacts, applicant_class: str
) -> None:
    policy = default_policy()
    if situation.region_phase == 3:
        return
    higher = Situation(
        situation.risk_level,
        situation.region_phase + 1,
        situation.point_kind,
        situation.designated_emergency,
    )
    if decide(policy, situation, business, applicant_class).open:
        assert decide(policy, higher, business, applicant_class).open


def test_validator_refuses_a_policy_where_higher_risk_opens_more() -> None:
    document = default_policy().model_dump(mode="json")
    document["level_phase_cap"] = {"LOW": 1, "MEDIUM": 2, "HIGH": 0}
    try:
        PolicyDocument.model_validate(document)
    except ValueError as exc:
        assert "phase caps" in str(exc)
    else:
        raise AssertionError("accepted a policy where MEDIUM allows a later phase than LOW")
    document = default_policy().model_dump(mode="json")
    document["window_kinds"]["MEDIUM"]["GENERAL"] = ["green"]
    document["window_kinds"]["HIGH"]["GENERAL"] = ["normal"]
    try:
        PolicyDocument.model_validate(document)
    except ValueError as exc:
        assert "GENERAL" in str(exc)
    else:
        raise AssertionError("accepted GENERAL at HIGH but not at MEDIUM")
