"""Pure rules about regions and risk (no database)."""

from __future__ import annotations

from dataclasses import dataclass

from trafficdesk.core.vocabulary import RiskLevel


@dataclass(frozen=True)
class CaseCounts:
    total_confirmed: int
    new_in_last_14_days: int
    cluster_outbreak_in_last_14_days: bool


class ImpossibleCounts(ValueError):
    """Case counts that cannot all be true; ``message(language)`` says why, plainly."""

    code = "invalid_counts"

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en

    def message(self, language: str | None = None) -> str:
        if language is not None and language.lower().startswith("en"):
            return self.message_en
        return self.message_zh


@dataclass(frozen=True)
class RiskSuggestion:
    level: str
    reason_zh: str
    reason_en: str


def suggest_risk_level(counts: CaseCounts) -> RiskSuggestion:
    """The 2020 criteria (SPEC R11), offered as a suggestion; the administrator decides.

    Raises :class:`ImpossibleCounts` (a ValueError) for counts that cannot all be true:
    negative counts, more new cases than in total, or a cluster outbreak within 14 days
    with no new case within 14 days (a cluster is made of new cases)."""
    if counts.total_confirmed < 0 or counts.new_in_last_14_days < 0:
        raise ImpossibleCounts("病例数不能为负数", "Case counts cannot be negative.")
    if counts.new_in_last_14_days > counts.total_confirmed:
        raise ImpossibleCounts(
            "14天内新增病例数不能超过累计确诊病例数",
            "New cases in the last 14 days cannot be more than the total.",
        )
    if counts.cluster_outbreak_in_last_14_days and counts.new_in_last_14_days == 0:
        raise ImpossibleCounts(
            "14天内有聚集性疫情，则14天内必有新增病例：请核对填写的数字",
            "A cluster outbreak within 14 days means there were new cases within 14 days. "
            "Check the numbers you entered.",
        )
    if counts.total_confirmed == 0 or counts.new_in_last_14_days == 0:
        return RiskSuggestion(
            RiskLevel.LOW,
            "无确诊病例或连续14天无新增确诊病例",
            "no confirmed case, or none new for 14 days",
        )
    if counts.total_confirmed > 50 and counts.cluster_outbreak_in_last_14_days:
        return RiskSuggestion(
            RiskLevel.HIGH,
            "累计确诊超过50例且14天内有聚集性疫情",
            "more than 50 cases in total and a cluster outbreak within 14 days",
        )
    if counts.total_confirmed <= 50:
        return RiskSuggestion(
            RiskLevel.MEDIUM,
            "14天内有新增确诊，累计不超过50例",
            "new cases within 14 days, at most 50 in total",
        )
    return RiskSuggestion(
        RiskLevel.MEDIUM,
        "累计超过50例但14天内未发生聚集性疫情",
        "more than 50 cases in total without a cluster outbreak within 14 days",
    )


RISK_ALIASES = {
    RiskLevel.LOW: RiskLevel.LOW,
    "低": RiskLevel.LOW,
    "低风险": RiskLevel.LOW,
    RiskLevel.MEDIUM: RiskLevel.MEDIUM,
    "中": RiskLevel.MEDIUM,
    "中风险": RiskLevel.MEDIUM,
    RiskLevel.HIGH: RiskLevel.HIGH,
    "高": RiskLevel.HIGH,
    "高风险": RiskLevel.HIGH,
}


def parse_risk_level(value: str) -> str:
    key = value.strip().upper() if value.strip().isascii() else value.strip()
    try:
        return RISK_ALIASES[key]
    except KeyError:
        raise ValueError(
            f"unknown risk level {value!r} (use LOW/MEDIUM/HIGH or 低/中/高)"
        ) from None


def code_prefix(code: str) -> str:
    """The prefix shared by a region's code and the codes of everything inside it."""
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code
