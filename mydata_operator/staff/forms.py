"""The forms of the staff actions: the new value, and the reason that goes to the log."""

from django import forms

from .services import REASON_MAX


class _ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why: written to the consent log with your user name, for regulators to see.",
    )


class IdentityCodeForm(_ReasonForm):
    personal_identity_code = forms.CharField(label="New identity code", max_length=11)
    field_order = ["personal_identity_code", "reason"]


class OrganisationIdForm(_ReasonForm):
    organisation_id = forms.CharField(label="New organisation id (OID)", max_length=128)
    field_order = ["organisation_id", "reason"]


class RegulatorOrganisationForm(_ReasonForm):
    organisation = forms.CharField(label="Organisation", max_length=200)
    field_order = ["organisation", "reason"]


class ReasonOnlyForm(_ReasonForm):
    pass


class RedirectUrisForm(_ReasonForm):
    redirect_uris = forms.CharField(
        label="Redirect URIs",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "Exact URIs, one a line (https; http on loopback only for a demo client). A "
            "citizen app may also have its own scheme (fi.example.app:/callback) or "
            "http://127.0.0.1 or http://[::1] (any port)."
        ),
    )
    field_order = ["redirect_uris", "reason"]


class UserRightsForm(_ReasonForm):
    is_staff = forms.BooleanField(label="Staff (may use the admin)", required=False)
    is_superuser = forms.BooleanField(label="Superuser (every right in the admin)", required=False)
    field_order = ["is_staff", "is_superuser", "reason"]


class PasswordSetForm(_ReasonForm):
    password = forms.CharField(
        label="New password", widget=forms.PasswordInput(render_value=False), strip=False
    )
    field_order = ["password", "reason"]


class EmailForm(_ReasonForm):
    email = forms.EmailField(label="New e-mail address")
    field_order = ["email", "reason"]


class UserActiveForm(_ReasonForm):
    active = forms.TypedChoiceField(
        label="The account",
        choices=[("off", "Off: sign the user out and end what the account holds"), ("on", "On")],
        coerce=lambda value: value == "on",
        widget=forms.RadioSelect,
    )
    field_order = ["active", "reason"]
