"""The one rule of acting on behalf of another person (puolesta asiointi).

A person acts for themself in everything. They act for another person only under a
`Mandate` in force at that moment (guardian of a minor, or a mandate the principal gave):
begun (`valid_from` passed), not past `valid_until`, not ended. A mandate covers the consent
kinds it lists (`kinds`; empty: every kind). Several mandates for the same principal add up.
Every service, selector, view and API asks here, so what an agent may see is exactly what
they may change.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Q, QuerySet

from .models import Mandate

SELF = "self"


@dataclass(frozen=True)
class Representation:
    """Who `person` may act for (`subject_id`), on what basis and for which kinds."""

    subject_id: UUID
    role: str  # "self", "guardian" or "mandate"
    kinds: frozenset[str] | None  # None: every kind
    mandate: Mandate | None = None

    @property
    def is_self(self) -> bool:
        return self.role == SELF

    def covers(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


def mandates_in_force(*, at: datetime) -> QuerySet[Mandate]:
    """Mandates in force at `at` (of anyone; filter further by agent or principal)."""
    return Mandate.objects.filter(ended_at__isnull=True, valid_from__lte=at).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=at)
    )


def _merge(subject_id: UUID, mandates: Iterable[Mandate]) -> Representation:
    """One representation from the mandates an agent holds for one principal, newest first:
    the newest names the basis, and the kinds add up (any mandate of every kind: all)."""
    ordered = sorted(mandates, key=lambda m: m.valid_from, reverse=True)
    every = any(not m.kinds for m in ordered)
    newest = ordered[0]
    return Representation(
        subject_id=subject_id,
        role=newest.basis,
        kinds=None if every else frozenset(k for m in ordered for k in m.kinds),
        mandate=newest,
    )


def representations_for(*, person_id: UUID, at: datetime) -> list[Representation]:
    """The person themself first, then everyone they may act for at `at` (by principal)."""
    by_principal: dict[UUID, list[Mandate]] = {}
    for mandate in mandates_in_force(at=at).filter(agent_id=person_id):
        by_principal.setdefault(mandate.principal_id, []).append(mandate)
    return [Representation(person_id, SELF, None)] + [
        _merge(principal, mandates) for principal, mandates in by_principal.items()
    ]


def representation_for(*, person_id: UUID, subject_id: UUID, at: datetime) -> Representation | None:
    """How `person` may act for `subject` at `at`, or None if they may not at all."""
    if person_id == subject_id:
        return Representation(person_id, SELF, None)
    mandates = list(mandates_in_force(at=at).filter(agent_id=person_id, principal_id=subject_id))
    return _merge(subject_id, mandates) if mandates else None


def mandate_for(*, agent_id: UUID, principal_id: UUID, kind: str, at: datetime) -> Mandate | None:
    """The newest mandate in force that lets agent act for principal on this kind, if any."""
    for mandate in (
        mandates_in_force(at=at)
        .filter(agent_id=agent_id, principal_id=principal_id)
        .order_by("-valid_from")
    ):
        if not mandate.kinds or kind in mandate.kinds:
            return mandate
    return None


def may_act(*, person_id: UUID, subject_id: UUID, kind: str, at: datetime) -> bool:
    """May `person` act for `subject` on a consent of `kind` at `at`?"""
    found = representation_for(person_id=person_id, subject_id=subject_id, at=at)
    return found is not None and found.covers(kind)


def consents_filter(representations: Iterable[Representation]) -> Q:
    """A filter on Consent (`subject_id`, `kind`) for what these representations cover;
    matches nothing when there are none."""
    condition = Q(pk__in=[])
    for rep in representations:
        if rep.kinds is None:
            condition |= Q(subject_id=rep.subject_id)
        elif rep.kinds:
            condition |= Q(subject_id=rep.subject_id, kind__in=sorted(rep.kinds))
    return condition
