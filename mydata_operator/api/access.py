"""Whose consents a signed-in user may see and act on: their own, and those of the people
they validly act for, of the kinds their mandates cover (`consents.representation`)."""

from uuid import UUID

from django.db.models import Q
from django.utils import timezone

from consents import representation
from consents.models import Consent
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
