"""Template filters that show a vocabulary's label instead of its code:
``{{ level|risk_label }}`` (an audit summary's label is in ``audit_labels``)."""

from __future__ import annotations

from django import template

from trafficdesk.core.vocabulary import RiskLevel

register = template.Library()


@register.filter
def risk_label(code: object) -> str:
    try:
        return str(RiskLevel(str(code)).label)
    except ValueError:
        return str(code or "—")
