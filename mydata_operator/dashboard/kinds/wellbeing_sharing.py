"""Self-produced wellbeing data on the dashboard: form, scope in words, preview questions."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consents.policy import DecisionRequest, Flow, Recipient
from mydata_operator.identity.models import Provider

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


class WellbeingSharingForm(ConsentForm):
    kind = "wellbeing-sharing"
    POINTERS = {
        "/scope/dataCategories": "data_categories",
        "/scope/sources": "sources",
        "/scope/targets": "providers",
    }
    field_order = ["data_categories", "sources", "kanta_phr", "providers", "valid_until"]

    data_categories = forms.MultipleChoiceField(
        error_messages={"required": _("Choose at least one kind of data.")},
        label=_("What data"),
        choices=choices(L.CATEGORIES, L.SELF_PRODUCED_CATEGORIES),
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
        self._set_choices("providers", providers("care-provider", "wellbeing-county"))

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


def describe(scope: dict[str, Any], names: dict[str, str]) -> Rows:
    rows: Rows = []
    rows.append(
        (gettext("What data"), listing(L.labels(L.CATEGORIES, scope.get("dataCategories", []))))
    )
    rows.append(
        (
            gettext("From which apps"),
            listing([s.get("name") or s.get("application", "") for s in scope.get("sources", [])]),
        )
    )
    targets = []
    for target in scope.get("targets", []):
        if target.get("type") == "kanta-phr":
            targets.append(str(L.KANTA_PHR))
        else:
            targets.append(organisation_name(target.get("recipient"), names))
    rows.append((gettext("Stored in or shared with"), listing(targets)))
    return rows


def questions(
    scope: dict[str, Any], subject_id: UUID, at: datetime, names: dict[str, str]
) -> Questions:
    out: Questions = []
    source = (scope.get("sources") or [{}])[0].get("application", "")
    app = (scope.get("sources") or [{}])[0].get("name", source)
    for target in scope.get("targets", []):
        if target.get("type") == "kanta-phr":
            recipient, flow, where = Recipient(kanta_phr=True), Flow.PHR_STORE, str(L.KANTA_PHR)
        else:
            spec = target.get("recipient")
            recipient, flow = recipient_of(spec), Flow.PROVIDER_PUSH
            where = organisation_name(spec, names)
        for category in L.SELF_PRODUCED_CATEGORIES:
            out.append(
                (
                    gettext("May %(where)s receive %(what)s (from %(app)s)?")
                    % {"what": L.label(L.CATEGORIES, category), "app": app, "where": where},
                    DecisionRequest(
                        subject_id=subject_id,
                        flow=flow,
                        recipient=recipient,
                        at=at,
                        data_categories=frozenset({category}),
                        source=source,
                    ),
                )
            )
    return out


KIND = DashboardKind(
    code="wellbeing-sharing", form=WellbeingSharingForm, describe=describe, questions=questions
)
