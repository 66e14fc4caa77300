from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trafficdesk.accounts.decorators import permission_required
from trafficdesk.audit import labels
from trafficdesk.audit.models import AuditEntry, Outcome
from trafficdesk.core.actions import Action


@permission_required(Action.AUDIT_READ)
def audit_log(request: HttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.select_related("actor")
    actor = request.GET.get("actor", "").strip()
    action = request.GET.get("action", "").strip()
    outcome = request.GET.get("outcome", "").strip()
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    if action:
        entries = entries.filter(action__startswith=action)
    if outcome in Outcome.values:
        entries = entries.filter(outcome=outcome)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    rows = [(entry, labels.entry_labels(entry)) for entry in page]
    return render(
        request,
        "audit/log.html",
        {
            "page": page,
            "rows": rows,
            "actions": labels.action_choices(),
            "actor": actor,
            "action": action,
            "outcome": outcome,
            "outcomes": Outcome.choices,
        },
    )
