"""The registry of consent kinds: one table, as Healthchecks lists its transports.

``KINDS`` maps each kind's code to its `ConsentKind` (one module per kind in this package).
The decision point, FHIR export, receipts, services, connectors and faces ask this table;
adding a kind is its module here, one line in ``KINDS``, its scope schema and its translations
(docs/architecture.md, "How to add a consent kind").
"""

from ..decisions import Flow
from .base import ConsentKind, Match, Party, ReceiptPurpose, Scope, names_only, party_names
from .biobank import Biobank
from .needs_assessment import NeedsAssessment
from .provider_sharing import ProviderSharing
from .wellbeing_sharing import WellbeingSharing

__all__ = [
    "KINDS",
    "ConsentKind",
    "Match",
    "Party",
    "ReceiptPurpose",
    "Scope",
    "UnknownKind",
    "kind_codes",
    "kind_spec",
    "kinds_answering",
    "names_only",
    "party_names",
]

#: Every consent kind by its code, in the order the schemas publish them.
KINDS: dict[str, ConsentKind] = {
    kind.code: kind
    for kind in (Biobank(), NeedsAssessment(), ProviderSharing(), WellbeingSharing())
}


class UnknownKind(KeyError):
    """A code that names no consent kind."""

    def __str__(self) -> str:
        return str(self.args[0])


def kind_spec(code: str) -> ConsentKind:
    """The kind with this code; UnknownKind (a KeyError) naming the known ones otherwise."""
    try:
        return KINDS[code]
    except KeyError:
        raise UnknownKind(
            f"unknown consent kind {code!r}; known: {', '.join(sorted(KINDS))}"
        ) from None


def kind_codes() -> list[str]:
    """The codes of every kind."""
    return list(KINDS)


def kinds_answering(flow: Flow) -> list[str]:
    """The codes of the kinds whose consents may answer a request of this flow."""
    return [code for code, kind in KINDS.items() if flow in kind.flows]
