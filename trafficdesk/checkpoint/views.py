from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trafficdesk.accounts.decorators import role_required
from trafficdesk.accounts.models import Role
from trafficdesk.checkpoint.models import Checkpoint


@role_required(Role.CHECKPOINT_OFFICER)
def checkpoint_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    checkpoints = Checkpoint.objects.select_related("region")
    if not user.is_superuser:
        own = user.region.path if user.region else "-"
        checkpoints = checkpoints.filter(
            Q(region__path=own) | Q(region__path__startswith=own + "/")
        )
    return render(request, "checkpoint/list.html", {"checkpoints": checkpoints})
