"""``{{ summary|summary_label }}``: a summary written in a known form (such as a policy
event's "520102 → MEDIUM") shown in the reader's words."""

from __future__ import annotations

from django import template

from trafficdesk.audit.labels import summary_label as _summary_label

register = template.Library()


@register.filter
def summary_label(summary: object) -> str:
    return _summary_label(str(summary or ""))
