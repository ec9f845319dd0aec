"""Forms of the dashboard. The consent forms are in each kind's module (`.kinds`); each turns
its fields into the kind's scope and back, and the scope's JSON Schema (checked by the service)
remains the one contract.
"""

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from .kinds import DASHBOARD_KINDS
from .kinds.base import ConsentForm, DateInput

#: Each kind's consent form (the kind's dashboard module gives it).
FORMS: dict[str, type[ConsentForm]] = {code: kind.form for code, kind in DASHBOARD_KINDS.items()}


class StepUpForm(forms.Form):
    """The password again, or the authenticator's code if the person enrolled one; asked
    only when the last proof is older than the step-up window."""

    step_up_password = forms.CharField(
        label=_("Your password, to confirm it is you"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    step_up_code = forms.CharField(
        label=_("The 6-digit code from your authenticator app"),
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, method: str = "password", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.secret_field = "step_up_code" if method == "totp" else "step_up_password"
        for name in list(self.fields):
            if name != self.secret_field:
                del self.fields[name]


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code your authenticator app shows now"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ReceiptVerifyForm(forms.Form):
    receipt_file = forms.FileField(label=_("Receipt file (.jws)"), required=False)
    receipt_text = forms.CharField(
        label=_("…or paste the receipt's text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("receipt_file")
        token = ""
        if upload is not None:
            if upload.size > 64 * 1024:
                self.add_error("receipt_file", _("The file is too large to be a receipt."))
                return data
            token = upload.read().decode("utf-8", errors="replace")
        token = token or data.get("receipt_text") or ""
        if not token.strip():
            self.add_error("receipt_file", _("Choose a receipt file or paste its text."))
        data["token"] = token.strip()
        return data


class DisclosureFilterForm(forms.Form):
    recipient = forms.ChoiceField(label=_("Recipient"), required=False)
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[
            ("", _("All")),
            ("permit", _("Permitted")),
            ("deny", _("Denied")),
            ("delivered", _("Delivered")),
        ],
    )
    start = forms.DateField(label=_("From"), required=False, widget=DateInput())
    end = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(self, *args: Any, recipients: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["recipient"]).choices = [("", _("All")), *recipients]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end date is before the start date."))
        return data
