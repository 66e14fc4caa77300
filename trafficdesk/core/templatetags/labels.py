"""Template filters that show a vocabulary's label instead of its code:
``{{ level|risk_label }}``, ``{{ summary|summary_label }}`` (a summary written in a known form,
such as a policy event's "520102 → MEDIUM")."""

from __future__ import annotations

from django import template

from trafficdesk.audit.labels import summary_label as _summary_label
from trafficdesk.core.vocabulary import RiskLevel

register = template.Library()


@register.filter
def risk_label(code: object) -> str:
    try:
        return str(RiskLevel(str(code)).label)
    except ValueError:
        return str(code or "—")


@register.filter
def summary_label(summary: object) -> str:
    return _summary_label(str(summary or ""))
