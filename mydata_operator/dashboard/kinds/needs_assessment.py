"""Service-need assessment on the dashboard: form, scope in words, preview questions."""

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
        choices=choices(L.CHANNELS, list(L.CHANNELS)),
        widget=forms.CheckboxSelectMultiple,
    )
    life_areas = forms.MultipleChoiceField(
        label=_("About which areas of life"),
        choices=choices(L.LIFE_AREAS, list(L.LIFE_AREAS)),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._set_choices(
            "senders", providers("wellbeing-county", "care-provider", "social-care-provider")
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


def describe(scope: dict[str, Any], names: dict[str, str]) -> Rows:
    rows: Rows = []
    rows.append(
        (
            gettext("Who may suggest services"),
            listing([organisation_name(s, names) for s in scope.get("senders", [])]),
        )
    )
    rows.append(
        (
            gettext("How contact may be made"),
            listing(L.labels(L.CHANNELS, scope.get("channels", []))),
        )
    )
    rows.append(
        (
            gettext("About which areas of life"),
            listing(L.labels(L.LIFE_AREAS, scope.get("lifeAreas", []))),
        )
    )
    return rows


def questions(
    scope: dict[str, Any], subject_id: UUID, at: datetime, names: dict[str, str]
) -> Questions:
    out: Questions = []
    for sender in scope.get("senders", []):
        who = organisation_name(sender, names)
        for channel in L.CHANNELS:
            for area in scope.get("lifeAreas", [])[:3] or ["health"]:
                out.append(
                    (
                        gettext("May %(who)s suggest services (%(area)s), contact by: %(channel)s?")
                        % {
                            "who": who,
                            "area": L.label(L.LIFE_AREAS, area),
                            "channel": L.label(L.CHANNELS, channel),
                        },
                        DecisionRequest(
                            subject_id=subject_id,
                            flow=Flow.NEEDS_ASSESSMENT,
                            recipient=recipient_of(sender),
                            at=at,
                            channel=channel,
                            life_area=area,
                        ),
                    )
                )
    return out


KIND = DashboardKind(
    code="needs-assessment", form=NeedsAssessmentForm, describe=describe, questions=questions
)
