"""Which arrivals to flag at a checkpoint (R10, R11), as a pure function."""

from __future__ import annotations

from trafficdesk.core.vocabulary import RiskLevel


def flags(
    *, plate_province_code: str, origin_code: str, origin_risk: str | None, home_province: str
) -> list[tuple[str, str, str]]:
    """(code, zh, en) for each reason to follow an arrival up: a plate or an origin from
    another province, or an origin county at medium or high risk."""
    found = []
    if plate_province_code != home_province[:2]:
        found.append(
            ("plate.other_province", "外省号牌车辆", "vehicle registered in another province")
        )
    if origin_code[:2] != home_province[:2]:
        found.append(("origin.other_province", "来自外省", "coming from another province"))
    if origin_risk in (RiskLevel.MEDIUM, RiskLevel.HIGH):
        level_zh = "中风险" if origin_risk == RiskLevel.MEDIUM else "高风险"
        found.append(
            (
                f"origin.{origin_risk.lower()}",
                f"来自{level_zh}地区，需健康随访",
                f"coming from a {origin_risk.lower()} risk county: health follow-up",
            )
        )
    return found
