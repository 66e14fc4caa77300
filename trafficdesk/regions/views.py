from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.core.actions import Action
from trafficdesk.core.vocabulary import RiskLevel
from trafficdesk.regions import services
from trafficdesk.regions.models import Region, RegionLevel

MAX_CSV_BYTES = 1_000_000


class RiskImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"))


class RiskChangeForm(forms.Form):
    level = forms.ChoiceField(label=gettext_lazy("Risk level"), choices=RiskLevel.choices)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)
    effective_from = forms.DateTimeField(label=gettext_lazy("Effective from"), required=False)


@permission_required(Action.RISK_SET)
def risk_overview(request: HttpRequest) -> HttpResponse:
    counties = list(
        access.scope(
            request.user,
            Region.objects.filter(level=RegionLevel.COUNTY).select_related("parent"),
            Action.RISK_SET,
        )
    )
    current = services.current_levels(counties)
    rows = [(county, current.get(county.pk)) for county in counties]
    return render(request, "regions/risk.html", {"rows": rows})


@permission_required(Action.RISK_SET)
def risk_change(request: HttpRequest, code: str) -> HttpResponse:
    region = get_object_or_404(Region, code=code)
    form = RiskChangeForm(request.POST or None)
    problem = services.risk_change_problem(request.user, region)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_risk_level(
                request.user,
                region,
                form.cleaned_data["level"],
                reason=form.cleaned_data["reason"],
                effective_from=form.cleaned_data["effective_from"],
            )
        except services.InvalidRiskChange as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Risk level of %(region)s recorded.") % {"region": region})
            return redirect("regions:risk")
    history = region.risk_assessments.select_related("author").order_by("-effective_from", "-id")[
        :50
    ]
    return render(
        request,
        "regions/risk_change.html",
        {"region": region, "form": form, "problem": problem, "history": history},
        status=422 if form.errors else 200,
    )


@permission_required(Action.RISK_IMPORT)
def risk_import(request: HttpRequest) -> HttpResponse:
    form = RiskImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            form.add_error("file", _("The file is larger than 1 MB."))
        else:
            try:
                result = services.import_risk_levels_csv(request.user, upload.read())
            except UnicodeDecodeError:
                form.add_error("file", _("The file is not UTF-8 text."))
            if result is not None and result.ok:
                messages.success(request, _("%(n)d risk levels imported.") % {"n": result.imported})
                return redirect("regions:risk")
    status = 422 if (form.errors or (result is not None and not result.ok)) else 200
    return render(
        request, "regions/risk_import.html", {"form": form, "result": result}, status=status
    )
