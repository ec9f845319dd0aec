"""Forms of the dashboard. Each consent form turns its fields into the kind's scope and
back; the scope's JSON Schema (checked by the service) remains the one contract.
"""

from abc import ABCMeta, abstractmethod
from datetime import datetime, time, timedelta
from typing import Any, ClassVar, cast

from django import forms
from django.forms.forms import DeclarativeFieldsMetaclass
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mydata_operator.identity.models import Provider

from . import labels as L


def _choices(table: dict[str, Any], codes: list[str]) -> list[tuple[str, str]]:
    return [(code, table[code]) for code in codes]


def _providers(*kinds: str) -> list[tuple[str, str]]:
    qs = Provider.objects.all()
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return [(p.organisation_id, p.name) for p in qs.order_by("name")]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any):
        super().__init__(format="%Y-%m-%d", **kwargs)


class _AbstractFormMeta(ABCMeta, DeclarativeFieldsMetaclass):
    """Lets a form class declare abstract methods (each kind's form must give them)."""


class ConsentForm(forms.Form, metaclass=_AbstractFormMeta):
    """Base: every consent has an optional end date."""

    kind: ClassVar[str]
    #: JSON pointer prefix of a service error -> form field
    POINTERS: ClassVar[dict[str, str]] = {}

    valid_until = forms.DateField(
        label=_("Valid until (optional)"),
        help_text=_("Leave empty to keep the consent until you withdraw it."),
        required=False,
        widget=DateInput(),
    )

    def clean_valid_until(self) -> Any:
        value = self.cleaned_data.get("valid_until")
        if value is not None and value <= timezone.localdate():
            raise forms.ValidationError(_("The end date must be in the future."))
        return value

    def valid_until_datetime(self) -> datetime | None:
        day = self.cleaned_data.get("valid_until")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))

    @abstractmethod
    def to_scope(self) -> dict[str, Any]:
        """The consent's scope, in the shape its kind's JSON Schema describes."""

    def _set_choices(self, name: str, choices: list[tuple[str, str]]) -> None:
        cast(forms.ChoiceField, self.fields[name]).choices = choices
        self._labels = {**getattr(self, "_labels", {}), name: {k: str(v) for k, v in choices}}

    def _choices_of(self, name: str) -> dict[str, str]:
        return dict(getattr(self, "_labels", {}).get(name, {}))

    @classmethod
    @abstractmethod
    def initial_from(cls, scope: dict[str, Any]) -> dict[str, Any]:
        """Initial field values for changing a consent with this scope."""

    def field_for_pointer(self, pointer: str) -> str | None:
        for prefix, name in self.POINTERS.items():
            if pointer.startswith(prefix):
                return name
        return None


class ProviderSharingForm(ConsentForm):
    kind = "provider-sharing"
    POINTERS = {
        "/scope/recipient": "recipient",
        "/scope/dataCategories": "data_categories",
        "/scope/purpose": "purpose",
    }
    field_order = ["recipient", "data_categories", "purpose", "valid_until"]

    recipient = forms.ChoiceField(label=_("Who may receive your data"))
    data_categories = forms.MultipleChoiceField(
        label=_("What data"),
        choices=_choices(L.CATEGORIES, L.CLINICAL_CATEGORIES),
        widget=forms.CheckboxSelectMultiple,
    )
    purpose = forms.ChoiceField(
        label=_("For what purpose"),
        choices=_choices(L.PURPOSES, ["care", "care-coordination", "self-care-support"]),
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._set_choices(
            "recipient",
            _providers(
                "care-provider", "wellbeing-county", "social-care-provider", "occupational-health"
            ),
        )

    def to_scope(self) -> dict[str, Any]:
        oid = self.cleaned_data["recipient"]
        name = self._choices_of("recipient").get(oid, "")
        return {
            "recipient": {"organisation": oid, "name": str(name)},
            "dataCategories": list(self.cleaned_data["data_categories"]),
            "purpose": self.cleaned_data["purpose"],
        }

    @classmethod
    def initial_from(cls, scope: dict[str, Any]) -> dict[str, Any]:
        return {
            "recipient": (scope.get("recipient") or {}).get("organisation"),
            "data_categories": scope.get("dataCategories", []),
            "purpose": scope.get("purpose"),
        }


class WellbeingSharingForm(ConsentForm):
    kind = "wellbeing-sharing"
    POINTERS = {
        "/scope/dataCategories": "data_categories",
        "/scope/sources": "sources",
        "/scope/targets": "providers",
    }
    field_order = ["data_categories", "sources", "kanta_phr", "providers", "valid_until"]

    data_categories = forms.MultipleChoiceField(
        label=_("What data"),
        choices=_choices(L.CATEGORIES, L.SELF_PRODUCED_CATEGORIES),
        widget=forms.CheckboxSelectMultiple,
    )
    sources = forms.MultipleChoiceField(
        label=_("From which apps"), widget=forms.CheckboxSelectMultiple
    )
    kanta_phr = forms.BooleanField(
        label=_("Store the data in MyKanta's personal health record"), required=False
    )
    providers = forms.MultipleChoiceField(
        label=_("Share the data with"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._set_choices(
            "sources",
            [
                (p.application.client_id, p.name)
                for p in Provider.objects.filter(kind="wellbeing-app", application__isnull=False)
                .select_related("application")
                .order_by("name")
                if p.application is not None
            ],
        )
        self._set_choices("providers", _providers("care-provider", "wellbeing-county"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("kanta_phr") and not data.get("providers"):
            self.add_error(
                "providers", _("Choose MyKanta, a provider, or both: where may the data go?")
            )
        return data

    def to_scope(self) -> dict[str, Any]:
        apps = self._choices_of("sources")
        targets: list[dict[str, Any]] = []
        if self.cleaned_data.get("kanta_phr"):
            targets.append({"type": "kanta-phr"})
        targets += [
            {"type": "provider", "recipient": {"organisation": oid}}
            for oid in self.cleaned_data.get("providers", [])
        ]
        return {
            "dataCategories": list(self.cleaned_data["data_categories"]),
            "sources": [
                {"application": a, "name": str(apps.get(a, a))}
                for a in self.cleaned_data["sources"]
            ],
            "targets": targets,
        }

    @classmethod
    def initial_from(cls, scope: dict[str, Any]) -> dict[str, Any]:
        targets = scope.get("targets", [])
        return {
            "data_categories": scope.get("dataCategories", []),
            "sources": [s.get("application") for s in scope.get("sources", [])],
            "kanta_phr": any(t.get("type") == "kanta-phr" for t in targets),
            "providers": [
                (t.get("recipient") or {}).get("organisation")
                for t in targets
                if t.get("type") == "provider"
            ],
        }


class NeedsAssessmentForm(ConsentForm):
    kind = "needs-assessment"
    POINTERS = {
        "/scope/senders": "senders",
        "/scope/channels": "channels",
        "/scope/lifeAreas": "life_areas",
    }
    field_order = ["senders", "channels", "life_areas", "valid_until"]

    senders = forms.MultipleChoiceField(
        label=_("Who may suggest services to you"), widget=forms.CheckboxSelectMultiple
    )
    channels = forms.MultipleChoiceField(
        label=_("How they may contact you"),
        choices=_choices(L.CHANNELS, list(L.CHANNELS)),
        widget=forms.CheckboxSelectMultiple,
    )
    life_areas = forms.MultipleChoiceField(
        label=_("About which areas of life"),
        choices=_choices(L.LIFE_AREAS, list(L.LIFE_AREAS)),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._set_choices(
            "senders", _providers("wellbeing-county", "care-provider", "social-care-provider")
        )

    def to_scope(self) -> dict[str, Any]:
        names = self._choices_of("senders")
        return {
            "senders": [
                {"organisation": oid, "name": str(names.get(oid, oid))}
                for oid in self.cleaned_data["senders"]
            ],
            "channels": list(self.cleaned_data["channels"]),
            "lifeAreas": list(self.cleaned_data["life_areas"]),
        }

    @classmethod
    def initial_from(cls, scope: dict[str, Any]) -> dict[str, Any]:
        return {
            "senders": [s.get("organisation") for s in scope.get("senders", [])],
            "channels": scope.get("channels", []),
            "life_areas": scope.get("lifeAreas", []),
        }


def _with_acts(categories: list[str], *, samples: bool, register_data: bool) -> list[str]:
    """The biobank categories with samples and register data added when their act is given."""
    out = list(categories)
    for category, given in (("samples", samples), ("register-data", register_data)):
        if given and category not in out:
            out.append(category)
    return out


class BiobankForm(ConsentForm):
    kind = "biobank"
    POINTERS = {
        "/scope/biobank": "biobank",
        "/scope/samples": "sample_types",
        "/scope/registerLinking": "link_sources",
        "/scope/dataCategories": "data_categories",
        "/scope/permission/disease": "disease",
        "/scope/permission": "permission",
        "/scope/modifiers": "modifiers",
    }
    field_order = [
        "biobank",
        "collect_samples",
        "sample_types",
        "register_linking",
        "link_sources",
        "data_categories",
        "permission",
        "disease",
        "modifiers",
        "recontact",
        "valid_until",
    ]

    biobank = forms.ChoiceField(label=_("Biobank"))
    collect_samples = forms.BooleanField(
        label=_("Samples may be collected and stored in the biobank"), required=False
    )
    sample_types = forms.MultipleChoiceField(
        label=_("Which samples"),
        choices=_choices(L.SAMPLE_TYPES, list(L.SAMPLE_TYPES)),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    register_linking = forms.BooleanField(
        label=_("Register and health data may be linked to the samples"), required=False
    )
    link_sources = forms.MultipleChoiceField(
        label=_("Linked from"),
        choices=_choices(L.LINK_SOURCES, list(L.LINK_SOURCES)),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    data_categories = forms.MultipleChoiceField(
        label=_("What data the biobank may hold"),
        help_text=_(
            "Samples and linked register data are covered by your answers above; "
            "ticking them here adds nothing."
        ),
        choices=_choices(L.CATEGORIES, L.BIOBANK_CATEGORIES),
        widget=forms.CheckboxSelectMultiple,
    )
    permission = forms.ChoiceField(
        label=_("For what research"),
        choices=_choices(L.DUO, L.DUO_PERMISSIONS),
        widget=forms.RadioSelect,
    )
    disease = forms.CharField(
        label=_("Disease (ICD-10 code, only for research on one disease)"),
        required=False,
        max_length=12,
    )
    modifiers = forms.MultipleChoiceField(
        label=_("Conditions on the research"),
        choices=_choices(L.DUO, L.DUO_MODIFIERS),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    recontact = forms.BooleanField(
        label=_("The biobank may contact me, e.g. about findings important to my health"),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._set_choices("biobank", _providers("biobank"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("permission") == "DS" and not data.get("disease"):
            self.add_error("disease", _("Research on one disease needs the disease's code."))
        if data.get("permission") != "DS" and data.get("disease"):
            self.add_error("disease", _("Give a disease only for research on one disease."))
        if not data.get("collect_samples") and data.get("sample_types"):
            self.add_error("sample_types", _("Choose samples only when they may be collected."))
        if not data.get("register_linking") and data.get("link_sources"):
            self.add_error("link_sources", _("Choose sources only when data may be linked."))
        categories = data.get("data_categories") or []
        if "samples" in categories and not data.get("collect_samples"):
            self.add_error(
                "data_categories", _("Samples as data need the consent to collect samples.")
            )
        if "register-data" in categories and not data.get("register_linking"):
            self.add_error(
                "data_categories", _("Register data needs the consent to link register data.")
            )
        return data

    def to_scope(self) -> dict[str, Any]:
        d = self.cleaned_data
        names = self._choices_of("biobank")
        permission: dict[str, Any] = {"code": d["permission"]}
        if d.get("disease"):
            permission["disease"] = d["disease"].strip().upper()
        return {
            "biobank": {"organisation": d["biobank"], "name": str(names.get(d["biobank"], ""))},
            "samples": {
                "collect": bool(d.get("collect_samples")),
                "types": list(d.get("sample_types") or []),
                "existingSamples": False,
            },
            "registerLinking": {
                "allowed": bool(d.get("register_linking")),
                "sources": list(d.get("link_sources") or []),
            },
            # One rule (consents.duo.covered_categories): samples and register data are
            # covered by their own acts above; the list says them too, so it reads the same.
            "dataCategories": _with_acts(
                list(d["data_categories"]),
                samples=bool(d.get("collect_samples")),
                register_data=bool(d.get("register_linking")),
            ),
            "permission": permission,
            "modifiers": list(d.get("modifiers") or []),
            "recontact": bool(d.get("recontact")),
        }

    @classmethod
    def initial_from(cls, scope: dict[str, Any]) -> dict[str, Any]:
        samples = scope.get("samples", {})
        linking = scope.get("registerLinking", {})
        permission = scope.get("permission", {})
        return {
            "biobank": (scope.get("biobank") or {}).get("organisation"),
            "collect_samples": samples.get("collect", False),
            "sample_types": samples.get("types", []),
            "register_linking": linking.get("allowed", False),
            "link_sources": linking.get("sources", []),
            "data_categories": scope.get("dataCategories", []),
            "permission": permission.get("code"),
            "disease": permission.get("disease", ""),
            "modifiers": scope.get("modifiers", []),
            "recontact": scope.get("recontact", False),
        }


FORMS: dict[str, type[ConsentForm]] = {
    f.kind: f for f in (ProviderSharingForm, WellbeingSharingForm, NeedsAssessmentForm, BiobankForm)
}


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
