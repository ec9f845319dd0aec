"""Biobank consent on the dashboard: form, scope in words, preview questions."""

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

    biobank = forms.ChoiceField(
        label=_("Biobank"), error_messages={"required": _("Choose the biobank.")}
    )
    collect_samples = forms.BooleanField(
        label=_("Samples may be collected and stored in the biobank"), required=False
    )
    sample_types = forms.MultipleChoiceField(
        label=_("Which samples"),
        choices=choices(L.SAMPLE_TYPES, list(L.SAMPLE_TYPES)),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    register_linking = forms.BooleanField(
        label=_("Register and health data may be linked to the samples"), required=False
    )
    link_sources = forms.MultipleChoiceField(
        label=_("The data may be linked from these sources"),
        choices=choices(L.LINK_SOURCES, list(L.LINK_SOURCES)),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    data_categories = forms.MultipleChoiceField(
        error_messages={"required": _("Choose at least one kind of data.")},
        label=_("What data the biobank may hold"),
        help_text=_(
            "Samples and linked register data are covered by your answers above; "
            "ticking them here adds nothing."
        ),
        choices=choices(L.CATEGORIES, L.BIOBANK_CATEGORIES),
        widget=forms.CheckboxSelectMultiple,
    )
    permission = forms.ChoiceField(
        label=_("For what research"),
        error_messages={
            "required": _("Choose what research the samples and data may be used for.")
        },
        choices=choices(L.DUO, L.DUO_PERMISSIONS),
        widget=forms.RadioSelect,
    )
    disease = forms.ChoiceField(
        label=_("Which disease (only for research on one disease)"),
        help_text=_("Choose the disease by its name. The research may also cover its subtypes."),
        required=False,
    )
    modifiers = forms.MultipleChoiceField(
        label=_("Conditions on the research"),
        choices=choices(L.DUO, L.DUO_MODIFIERS),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    recontact = forms.BooleanField(
        label=_("The biobank may make contact, e.g. about findings important to health"),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._set_choices("biobank", [("", gettext("Choose a biobank")), *providers("biobank")])
        diseases: list[tuple[str, str]] = [(code, str(L.DISEASES[code])) for code in L.DISEASES]
        chosen = self.initial.get("disease") or (self.data.get("disease") if self.data else "")
        if chosen and chosen not in L.DISEASES:
            diseases.append(
                (str(chosen), str(chosen))
            )  # an earlier consent's code outside the list
        self._set_choices("disease", [("", gettext("No disease chosen")), *diseases])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("permission") == "DS" and not data.get("disease"):
            self.add_error("disease", _("Choose the disease the research may study."))
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
            permission["disease"] = d["disease"]
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


def describe(scope: dict[str, Any], names: dict[str, str]) -> Rows:
    rows: Rows = []
    rows.append((gettext("Biobank"), organisation_name(scope.get("biobank"), names)))
    samples = scope.get("samples", {})
    if samples.get("collect"):
        text = gettext("may be collected and stored: %(types)s") % {
            "types": listing(L.labels(L.SAMPLE_TYPES, samples.get("types", [])))
        }
        if samples.get("existingSamples"):
            text += "; " + gettext("earlier samples from care may be transferred")
    else:
        text = gettext("no samples")
    rows.append((gettext("Samples"), text))
    linking = scope.get("registerLinking", {})
    if linking.get("allowed"):
        link_text = gettext("may be linked from %(sources)s") % {
            "sources": listing(L.labels(L.LINK_SOURCES, linking.get("sources", [])))
        }
    else:
        link_text = gettext("not linked")
    rows.append((gettext("Register and health data"), link_text))
    rows.append(
        (gettext("What data"), listing(L.labels(L.CATEGORIES, scope.get("dataCategories", []))))
    )
    permission = scope.get("permission", {})
    use = L.label(L.DUO, permission.get("code", ""))
    if permission.get("disease"):
        disease = str(permission["disease"])
        name = L.DISEASES.get(disease)
        use += f" ({name}, {disease})" if name else f" ({disease})"
    rows.append((gettext("Research use"), use))
    modifiers = L.labels(L.DUO, scope.get("modifiers", []))
    if modifiers:
        rows.append((gettext("Conditions"), listing(modifiers)))
    rows.append(
        (
            gettext("The biobank may make contact"),
            gettext("yes") if scope.get("recontact") else gettext("no"),
        )
    )
    return rows


def questions(
    scope: dict[str, Any], subject_id: UUID, at: datetime, names: dict[str, str]
) -> Questions:
    out: Questions = []
    biobank = scope.get("biobank") or {}
    who = organisation_name(biobank, names)
    declarations = list(scope.get("modifiers", []))
    for code in ("HMB", "GRU", "POA"):
        out.append(
            (
                gettext(
                    "May %(who)s give the data to research (%(use)s) that meets the conditions?"
                )
                % {"who": who, "use": L.label(L.DUO, code)},
                DecisionRequest(
                    subject_id=subject_id,
                    flow=Flow.RESEARCH,
                    recipient=recipient_of(biobank),
                    at=at,
                    purpose="research",
                    research={
                        "biobank": biobank.get("organisation"),
                        "purpose": {"code": code},
                        "declarations": declarations,
                    },
                ),
            )
        )
    if declarations:
        out.append(
            (
                gettext("%(who)s gives your data to health research by a commercial company")
                % {"who": who},
                DecisionRequest(
                    subject_id=subject_id,
                    flow=Flow.RESEARCH,
                    recipient=recipient_of(biobank),
                    at=at,
                    purpose="research",
                    research={
                        "biobank": biobank.get("organisation"),
                        "purpose": {"code": "HMB"},
                    },
                ),
            )
        )
    return out


KIND = DashboardKind(code="biobank", form=BiobankForm, describe=describe, questions=questions)
