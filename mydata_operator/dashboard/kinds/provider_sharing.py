"""Data sharing to providers on the dashboard: form, scope in words, preview questions."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consents.policy import DecisionRequest, Flow

from .. import labels as L
from .base import (
    ConsentForm,
    DashboardKind,
    Questions,
    Rows,
    choices,
    listing,
    organisation_name,
    providers,
    recipient_of,
)


class ProviderSharingForm(ConsentForm):
    kind = "provider-sharing"
    POINTERS = {
        "/scope/recipient": "recipient",
        "/scope/dataCategories": "data_categories",
        "/scope/purpose": "purpose",
    }
    field_order = ["recipient", "data_categories", "purpose", "valid_until"]

    recipient = forms.ChoiceField(
        label=_("Who may receive the data"),
        error_messages={"required": _("Choose the provider who may receive the data.")},
        help_text=_(
            "The provider fetches the data from Kanta, the national archive, only through Tahto."
        ),
    )
    data_categories = forms.MultipleChoiceField(
        error_messages={"required": _("Choose at least one kind of data.")},
        label=_("What data"),
        choices=choices(L.CATEGORIES, L.CLINICAL_CATEGORIES),
        widget=forms.CheckboxSelectMultiple,
    )
    purpose = forms.ChoiceField(
        label=_("Purpose of use"),
        error_messages={"required": _("Choose the purpose of use.")},
        help_text=_("The provider may use the data only for this purpose."),
        choices=choices(L.PURPOSES, ["care", "care-coordination", "self-care-support"]),
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._set_choices(
            "recipient",
            [
                ("", gettext("Choose a provider")),
                *providers(
                    "care-provider",
                    "wellbeing-county",
                    "social-care-provider",
                    "occupational-health",
                ),
            ],
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


def describe(scope: dict[str, Any], names: dict[str, str]) -> Rows:
    rows: Rows = []
    rows.append((gettext("Who may receive"), organisation_name(scope.get("recipient"), names)))
    rows.append(
        (gettext("What data"), listing(L.labels(L.CATEGORIES, scope.get("dataCategories", []))))
    )
    rows.append((gettext("Purpose of use"), L.label(L.PURPOSES, scope.get("purpose", ""))))
    if scope.get("frequencyPerDay"):
        rows.append(
            (
                gettext("How often"),
                gettext("The data may be fetched at most %(n)s times a day")
                % {"n": scope["frequencyPerDay"]},
            )
        )
    return rows


def questions(
    scope: dict[str, Any], subject_id: UUID, at: datetime, names: dict[str, str]
) -> Questions:
    out: Questions = []
    who = organisation_name(scope.get("recipient"), names)
    purpose = scope.get("purpose", "care")
    for category in L.CLINICAL_CATEGORIES:
        out.append(
            (
                gettext("May %(who)s see %(what)s (purpose: %(purpose)s)?")
                % {
                    "who": who,
                    "what": L.label(L.CATEGORIES, category),
                    "purpose": L.label(L.PURPOSES, purpose),
                },
                DecisionRequest(
                    subject_id=subject_id,
                    flow=Flow.PROVIDER_ACCESS,
                    recipient=recipient_of(scope.get("recipient")),
                    at=at,
                    purpose=purpose,
                    data_categories=frozenset({category}),
                ),
            )
        )
    return out


KIND = DashboardKind(
    code="provider-sharing", form=ProviderSharingForm, describe=describe, questions=questions
)
