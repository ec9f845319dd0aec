"""The shared vocabulary in words: consent kinds, data categories and purposes.

Every face (dashboard, provider API, regulator) shows these codes with these labels, so they
live here, below the faces, and no face imports another for them. English source strings,
translated in this app's locale/ (fi, sv); the kinds' labels come from the kind registry
(`consents.kinds`). A code without a label is shown as it is, so a new code never breaks a page.
"""

from collections.abc import Iterator, Mapping

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .kinds import KINDS


class _KindTable(Mapping[str, Promise]):
    """One attribute of every registered kind, by code (read from the registry when asked)."""

    def __init__(self, attribute: str):
        self._attribute = attribute

    def __getitem__(self, code: str) -> Promise:
        kind = KINDS[code]
        value: Promise = getattr(kind, self._attribute)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(list(KINDS))

    def __len__(self) -> int:
        return len(KINDS)


#: Each consent kind's name.
KIND_LABELS: Mapping[str, Promise] = _KindTable("label")
#: Each consent kind in one sentence for the citizen.
KIND_DESCRIPTIONS: Mapping[str, Promise] = _KindTable("description")

#: Data categories (schemas: common/definitions.v1 "dataCategory").
CATEGORIES: Mapping[str, Promise] = {
    "demographics": _("Basic personal details"),
    "conditions": _("Diagnoses"),
    "medications": _("Medication"),
    "immunizations": _("Vaccinations"),
    "observations": _("Measurements and laboratory results"),
    "questionnaires": _("Questionnaire answers"),
    "blood-pressure": _("Blood pressure"),
    "blood-glucose": _("Blood glucose"),
    "body-weight": _("Body weight"),
    "steps": _("Steps"),
    "heart-rate": _("Heart rate"),
    "sleep": _("Sleep"),
    "life-situation": _("Life situation"),
    "functional-capacity": _("Functional capacity"),
    "samples": _("Samples"),
    "register-data": _("Register data"),
}

#: Purposes of use (schemas: common/definitions.v1 "purpose").
PURPOSES: Mapping[str, Promise] = {
    "care": _("Care and treatment"),
    "care-coordination": _("Coordinating care between providers"),
    "service-need-assessment": _("Assessing the need for services"),
    "self-care-support": _("Supporting self-care"),
    "research": _("Research"),
}


def label(table: Mapping[str, Promise], code: str) -> str:
    """The label of `code` in the active language, or the code itself when it has none."""
    return str(table[code]) if code in table else code
