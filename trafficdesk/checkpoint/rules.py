"""Which arrivals to flag at a checkpoint (R10, R11), and how a plate is typed, as pure
functions."""

from __future__ import annotations

from trafficdesk.core.validators import EMBASSY_MARK, PLATE_PROVINCES
from trafficdesk.core.vocabulary import RiskLevel

#: The plate's province abbreviations in the order of the 交管12123 plate keyboard (the
#: embassy mark 使 is left out: an embassy plate is typed whole, e.g. 使014578; the
#: consulate mark 领 ends a plate that begins with a province, e.g. 沪A1234领).
PLATE_PICKER: tuple[str, ...] = tuple(
    "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
)
assert set(PLATE_PICKER) == set(PLATE_PROVINCES), "the picker offers every plate province"

TEMPORARY_MARK = "临"


def plate_has_province(text: str) -> bool:
    """True if the typed plate already begins with a province abbreviation (or 临 and one),
    or is an embassy plate (使…), which names no province."""
    text = text.strip()
    if text.startswith(EMBASSY_MARK):
        return True
    head = text[1:2] if text.startswith(TEMPORARY_MARK) else text[:1]
    return head in PLATE_PROVINCES


def combine_plate(prefix: str, rest: str) -> str:
    """The plate as typed in two parts: the picked abbreviation and the rest. What was typed
    in full (with its abbreviation) wins over the picker."""
    rest = rest.strip()
    if plate_has_province(rest) or prefix not in PLATE_PROVINCES:
        return rest
    return prefix + rest


def plate_province_code(prefix: str, rest: str = "") -> str | None:
    """The GB/T 2260 code of the province a plate is registered in ("110000" for 京), from
    the picker or from the typed plate; None when neither names one."""
    text = combine_plate(prefix, rest)
    head = text[1:2] if text.startswith(TEMPORARY_MARK) else text[:1]
    two = PLATE_PROVINCES.get(head)
    return f"{two}0000" if two else None


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


def flag_texts(reasons: list[list[str]] | list[tuple[str, str, str]], language: str) -> list[str]:
    """The stored reasons, each in the reader's language (English only when asked for)."""
    english = language.lower().startswith("en")
    return [en if english else zh for _code, zh, en in reasons]
