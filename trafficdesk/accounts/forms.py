from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.validators import InvalidValue, normalise_mobile


class MobileForm(forms.Form):
    mobile = forms.CharField(label=_("Mobile number"), max_length=20)

    def clean_mobile(self) -> str:
        try:
            return normalise_mobile(self.cleaned_data["mobile"])
        except InvalidValue as exc:
            raise forms.ValidationError(
                str(_("Enter a mainland China mobile number (11 digits).")), code=exc.code
            ) from exc


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Verification code"),
        regex=r"^\s*\d{6}\s*$",
        max_length=8,
        error_messages={"invalid": _("The code has 6 digits.")},
    )


# --- staff accounts ---------------------------------------------------------------------------
