"""Whose consents a signed-in user may see and act on: their own, and those of the people
they validly act for, of the kinds their mandates cover (`consents.representation`)."""

from uuid import UUID

from django.db.models import Q
from django.utils import timezone

from consents import representation
from consents.models import Consent, LogEntry
from consents.policy import KINDS_FOR_FLOW
from mydata_operator.identity.selectors import person_for_user


def representations_of(user: object) -> list[representation.Representation]:
    person = person_for_user(user)  # type: ignore[arg-type]
    if person is None:
        return []
    return representation.representations_for(person_id=person.id, at=timezone.now())


def subjects_visible_to(user: object) -> set[UUID]:
    """The people whose consents (of some kind) the user may see."""
    return {r.subject_id for r in representations_of(user)}


def consents_visible_to(user: object) -> Q:
    """A filter on Consent: what the user may see and act on."""
    return representation.consents_filter(representations_of(user))


def consent_visible_to(user: object, consent: Consent) -> bool:
    person = person_for_user(user)  # type: ignore[arg-type]
    return person is not None and representation.may_act(
        person_id=person.id, subject_id=consent.subject_id, kind=consent.kind, at=timezone.now()
    )


def _entry_kinds(entry: LogEntry) -> frozenset[str] | None:
    """The consent kinds a log entry is about (None: none in particular, e.g. a mandate)."""
    if entry.consent_lineage is not None:
        kind = (
            Consent.objects.filter(lineage=entry.consent_lineage)
            .values_list("kind", flat=True)
            .first()
        )
        if kind is not None:
            return frozenset({kind})
    flows = {flow.value: kinds for flow, kinds in KINDS_FOR_FLOW.items()}
    if entry.kind in flows:
        return frozenset(flows[entry.kind])
    return None


def entry_visible_to(user: object, entry: LogEntry) -> bool:
    """May the user read this log entry? Their own, or one about a kind of consent they
    act on for its subject (an entry about no kind only with a mandate for every kind)."""
    if entry.subject_id is None:
        return False
    for rep in representations_of(user):
        if rep.subject_id != entry.subject_id:
            continue
        if rep.kinds is None:
            return True
        kinds = _entry_kinds(entry)
        return kinds is not None and bool(kinds & rep.kinds)
    return False
