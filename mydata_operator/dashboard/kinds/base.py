"""What each consent kind's dashboard module gives: its form, its scope in words, and the
example questions its preview asks the decision point. The registry is `DASHBOARD_KINDS`."""

from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, ClassVar, cast
from uuid import UUID

from django import forms
from django.forms.forms import DeclarativeFieldsMetaclass
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consents.policy import DecisionRequest, Recipient
from mydata_operator.identity.models import Provider

from .. import labels as L

#: (term, description) rows that say a scope in plain language.
Rows = list[tuple[str, str]]
#: (question in words, the decision request that asks it) pairs of a preview.
Questions = list[tuple[str, DecisionRequest]]


def choices(table: Mapping[str, Any], codes: list[str]) -> list[tuple[str, str]]:
    return [(code, table[code]) for code in codes]


def providers(*kinds: str) -> list[tuple[str, str]]:
    qs = Provider.objects.all()
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return [(p.organisation_id, p.name) for p in qs.order_by("name")]


def listing(items: list[str]) -> str:
    return ", ".join(items) if items else "—"


def organisation_name(spec: Any, names: dict[str, str]) -> str:
    """A recipient spec ({organisation, name} or {providerKind}) in words."""
    if not isinstance(spec, dict):
        return str(spec or "")
    if spec.get("organisation"):
        oid = spec["organisation"]
        return names.get(oid) or spec.get("name") or oid
    if spec.get("providerKind"):
        return L.label(L.PROVIDER_KINDS, spec["providerKind"])
    if spec.get("kantaPhr"):
        return str(L.KANTA_PHR)
    return ""


def recipient_of(spec: dict[str, Any] | None) -> Recipient:
    """The decision point's recipient for a party a scope names."""
    spec = spec or {}
    return Recipient(organisation=spec.get("organisation", ""), kind=spec.get("providerKind", ""))


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any):
        super().__init__(format="%Y-%m-%d", **kwargs)


class _AbstractFormMeta(ABCMeta, DeclarativeFieldsMetaclass):
    """Lets a form class declare abstract methods (each kind's form must give them)."""


class ConsentForm(forms.Form, metaclass=_AbstractFormMeta):
    """Base: every consent has an optional end date. Each kind's form turns its fields into
    the kind's scope and back; the scope's JSON Schema (checked by the service) remains the
    one contract."""

    kind: ClassVar[str]
    #: JSON pointer prefix of a service error -> form field
    POINTERS: ClassVar[dict[str, str]] = {}

    valid_until = forms.DateField(
        label=_("End date (optional)"),
        help_text=_("Leave empty to keep the consent in force until it is withdrawn."),
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


@dataclass(frozen=True)
class DashboardKind:
    """One consent kind on the dashboard."""

    code: str
    form: type[ConsentForm]
    #: The scope in plain language: describe(scope, provider names) -> rows.
    describe: Callable[[dict[str, Any], dict[str, str]], Rows]
    #: Example questions for a preview: questions(scope, subject_id, at, provider names).
    questions: Callable[[dict[str, Any], UUID, datetime, dict[str, str]], Questions]
