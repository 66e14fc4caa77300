"""The staff pages' forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trafficdesk.accounts.models import STAFF_ROLES, Role
from trafficdesk.regions.models import Region
from trafficdesk.sites.models import ServicePoint, Window
from trafficdesk.staff.services import StaffDetails


def _region_label(region: Any) -> str:
    return str(region.name)


def _window_label(window: Any) -> str:
    return str(_("%(point)s, window %(number)s")) % {
        "point": window.service_point.name,
        "number": window.number,
    }


class StaffFilterForm(forms.Form):
    q = forms.CharField(label=_("Search by username or name"), required=False, max_length=150)
    role = forms.ChoiceField(label=_("Role"), required=False)
    point = forms.ChoiceField(label=_("Service point"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), ("active", _("Active")), ("inactive", _("Deactivated"))],
    )

    def __init__(self, *args: Any, points: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self.fields["role"], [("", _("All roles")), *staff_role_choices()])
        _set_choices(
            self.fields["point"],
            [("", _("All service points")), *((p.code, p.name) for p in points)],
        )


def _set_choices(field: forms.Field, choices: list[tuple[str, Any]]) -> None:
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def staff_role_choices() -> list[tuple[str, Any]]:
    return [(value, label) for value, label in Role.choices if value in STAFF_ROLES]


class StaffForm(forms.Form):
    """A staff account as an administrator sets it. The choices offered are those inside the
    administrator's region; the service decides (and refuses anything outside it)."""

    username = forms.CharField(label=_("Username"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"))
    region = forms.ModelChoiceField(
        label=_("Region of authority"), queryset=Region.objects.all(), to_field_name="code"
    )
    service_point = forms.ModelChoiceField(
        label=_("Service point"),
        queryset=ServicePoint.objects.select_related("region"),
        to_field_name="code",
        required=False,
    )
    windows = forms.ModelMultipleChoiceField(
        label=_("Windows served at"),
        queryset=Window.objects.select_related("service_point"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None means any window of the service point."),
    )
    is_superuser = forms.BooleanField(label=_("System administrator"), required=False)

    def __init__(
        self,
        *args: Any,
        regions: Any = (),
        points: Any = (),
        windows: Any = (),
        creating: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self.fields["role"], staff_role_choices())
        # Offer what lies inside the administrator's region; accept any, for the service
        # to refuse with its reason.
        self.fields["region"].widget.choices = [("", "—")] + [
            (r.code, _region_label(r)) for r in regions
        ]
        self.fields["service_point"].widget.choices = [("", "—")] + [
            (p.code, p.name) for p in points
        ]
        self.fields["windows"].widget.choices = [(w.pk, _window_label(w)) for w in windows]
        if not creating:
            del self.fields["username"]

    def details(self) -> StaffDetails:
        data = self.cleaned_data
        return StaffDetails(
            full_name=data["full_name"],
            role=data["role"],
            region=data["region"],
            service_point=data.get("service_point"),
            windows=list(data.get("windows") or ()),
            is_superuser=bool(data.get("is_superuser")),
        )
