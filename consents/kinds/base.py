"""What every consent kind says about itself; `consents.kinds` lists the kinds in one table.

A kind is one class: its code, schema and labels, which flows it answers, how its scope names
the organisations it concerns and matches a decision request, its FHIR provision and its
receipt purposes. The decision point, FHIR export, receipts, services, connectors and faces
ask the kind; none of them switch on a kind's name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from django.utils.functional import Promise

from ..decisions import Flow, Reason


class Recipient(Protocol):
    """Where data would go, as the decision point says it (`consents.policy.Recipient`)."""

    @property
    def organisation(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def kanta_phr(self) -> bool: ...


class DecisionRequest(Protocol):
    """What a kind reads of a decision request (`consents.policy.DecisionRequest`); the kinds
    depend on these fields, not on the policy module that asks them."""

    @property
    def flow(self) -> Flow: ...
    @property
    def recipient(self) -> Recipient: ...
    @property
    def at(self) -> datetime: ...
    @property
    def purpose(self) -> str: ...
    @property
    def data_categories(self) -> frozenset[str]: ...
    @property
    def research(self) -> Mapping[str, Any] | None: ...
    @property
    def source(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def life_area(self) -> str: ...


#: A consent's scope, as its kind's JSON Schema describes it.
Scope = Mapping[str, Any]
#: An organisation a scope names: {"organisation": OID, "name": ...} or {"providerKind": ...}.
Party = Mapping[str, Any]


@dataclass(frozen=True)
class Match:
    """How one consent's scope answers a request whose recipient it covers."""

    reason: Reason
    categories: frozenset[str] = frozenset()
    detail: str = ""
    detail_code: str = ""


@dataclass(frozen=True)
class ReceiptPurpose:
    """One purpose on a receipt: a purpose code (``schemas`` "purpose"), the personal data it
    concerns (None: the consent's data categories), and whether the data leaves the operator."""

    code: str
    primary: bool
    disclosed: bool
    pii: tuple[str, ...] | None = None


def party_names(party: Any, recipient: Recipient) -> bool:
    """Does a party of a scope name this recipient (by OID, or by its kind of provider)?"""
    if not isinstance(party, Mapping):
        return False
    if party.get("organisation"):
        return bool(recipient.organisation) and party["organisation"] == recipient.organisation
    if party.get("providerKind"):
        return bool(recipient.kind) and party["providerKind"] == recipient.kind
    return False


def names_only(party: Any, organisation: str) -> bool:
    """Does a party of a scope name exactly this organisation by its OID?"""
    return isinstance(party, Mapping) and party.get("organisation") == organisation


class ConsentKind(ABC):
    """One kind of consent. Subclasses set the class attributes and give the methods."""

    #: The code stored on every consent and published in schemas (``consentKind``).
    code: ClassVar[str]
    #: The kind's name, translatable; its English source is the name the core publishes.
    label: ClassVar[Promise]
    #: One sentence for the citizen: what the kind decides.
    description: ClassVar[Promise]
    #: The JSON Schema of its scope (``schemas/consent-kinds/<code>.vN.json``).
    schema: ClassVar[str]
    #: The data flows whose decision requests its consents answer.
    flows: ClassVar[frozenset[Flow]]
    #: Registered nationally in Kanta as FHIR Consent when in force (and every change).
    national: ClassVar[bool] = False
    #: Its consents bind OAuth access tokens: the provider fetches data under them.
    token_bound: ClassVar[bool] = False
    #: FHIR Consent.scope (consentscope code, display).
    fhir_scope: ClassVar[tuple[str, str]] = ("patient-privacy", "Privacy Consent")
    #: Also carries the Kanta PHR consent category in FHIR (once its code is known).
    kanta_phr: ClassVar[bool] = False
    #: The receipt's service name in each receipt language (fixed text: a signed document).
    receipt_service: ClassVar[Mapping[str, str]]
    #: The scope key that names its one recipient organisation, if it names exactly one.
    recipient_key: ClassVar[str] = ""

    def answers(self, request: DecisionRequest) -> bool:
        """Do this kind's consents govern the request?"""
        return request.flow in self.flows

    def recipient(self, scope: Scope) -> Party | None:
        """The one recipient the scope names (``recipient_key``), if any."""
        party = scope.get(self.recipient_key) if self.recipient_key else None
        return party if isinstance(party, Mapping) else None

    def covers_recipient(self, scope: Scope, recipient: Recipient) -> bool:
        """Does the scope name this recipient? (Kinds with more than one recipient override.)"""
        return party_names(self.recipient(scope), recipient)

    @abstractmethod
    def match(self, scope: Scope, request: DecisionRequest, *, used_today: int) -> Match:
        """Does the scope cover the request (its recipient already matched)?

        ``used_today`` is how often the consent permitted a flow in the last 24 hours."""

    def daily_limit(self, scope: Scope) -> int | None:
        """How many flows a day the scope allows (None: no limit)."""
        return None

    def organisations(self, scope: Scope) -> list[Party]:
        """Every organisation the scope names: recipients, senders, the biobank."""
        party = self.recipient(scope)
        return [party] if party is not None else []

    def data_categories(self, scope: Scope) -> frozenset[str]:
        """The data categories the scope covers."""
        return frozenset(c for c in scope.get("dataCategories") or [] if isinstance(c, str))

    @abstractmethod
    def fhir_provision(self, provision: dict[str, Any], scope: Scope, provision_type: str) -> None:
        """Add the kind's actors, actions, purposes and codes to a FHIR Consent.provision."""

    @abstractmethod
    def receipt_purposes(self, scope: Scope) -> list[ReceiptPurpose]:
        """The purposes a receipt of this consent lists, primary first."""

    @abstractmethod
    def check_requester(self, scope: Scope, organisation: str) -> None:
        """A provider asks for this consent: raise ConsentError unless the scope names only
        the provider's own organisation where it names a recipient."""
