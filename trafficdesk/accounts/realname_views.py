"""The citizen's real-name page (实名信息): bind the account's ID number, declare and remove
family members. Thin: accounts.realname decides, as for the API."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from trafficdesk.accounts import realname
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.accounts.models import User
from trafficdesk.core.actions import Action


class BindForm(forms.Form):
    id_number = forms.CharField(label=gettext_lazy("Your resident ID number"), max_length=20)
    name = forms.CharField(
        label=gettext_lazy("Your name, as on the ID card"), max_length=40, required=False
    )


class FamilyForm(forms.Form):
    id_number = forms.CharField(label=gettext_lazy("Their resident ID number"), max_length=20)
    name = forms.CharField(
        label=gettext_lazy("Their name, as on the ID card"), max_length=40, required=False
    )
    relation = forms.ChoiceField(label=gettext_lazy("Relation to you"), choices=())

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["relation"].choices = [  # type: ignore[attr-defined]
            (r, realname.relation_label(r)) for r in realname.RELATIONS
        ]


def _render(
    request: HttpRequest, bind: BindForm, family: FamilyForm, status: int = 200
) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    members = [
        {"pk": m.pk, "relation": realname.relation_label(m.relation), "member": m}
        for m in realname.family_of(user)
    ]
    return render(
        request,
        "accounts/realname.html",
        {
            "identity": realname.identity_of(user),
            "members": members,
            "bind_form": bind,
            "family_form": family,
        },
        status=status,
    )


@permission_required(Action.REALNAME_MANAGE)
@require_http_methods(["GET", "POST"])
def page(request: HttpRequest) -> HttpResponse:
    bind, family = BindForm(), FamilyForm()
    if request.method == "POST":
        user = request.user
        assert isinstance(user, User)
        form: forms.Form
        if request.POST.get("what") == "family":
            form = family = FamilyForm(request.POST)
        else:
            form = bind = BindForm(request.POST)
        if not form.is_valid():
            return _render(request, bind, family, 422)
        data = form.cleaned_data
        try:
            if form is family:
                realname.declare_family_member(
                    user, data["id_number"], data["name"], data["relation"]
                )
                messages.success(request, _("The family member is verified and added."))
            else:
                realname.bind_identity(user, data["id_number"], data["name"])
                messages.success(request, _("Your ID number is verified and bound."))
        except realname.RealNameRefused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
            return _render(request, bind, family, refused.status)
        return redirect("accounts:realname")
    return _render(request, bind, family)


@permission_required(Action.REALNAME_MANAGE)
@require_POST
def remove(request: HttpRequest, member_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    try:
        realname.remove_family_member(user, member_id)
    except realname.RealNameRefused as refused:
        if refused.status == 404:  # not this account's: as the API answers
            raise Http404(refused.message) from refused
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The family member is removed."))
    return redirect("accounts:realname")
