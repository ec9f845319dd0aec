"""Reading people and the people a person may act for."""

from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from consents import representation

from .models import Person


def person_for_user(user: AbstractBaseUser | AnonymousUser) -> Person | None:
    if not user.is_authenticated:
        return None
    return Person.objects.filter(user_id=user.pk).first()


def principals_for_agent(*, agent: Person, at: datetime) -> list[Person]:
    """The people `agent` may act for at `at`, for some kind (`consents.representation`)."""
    reps = representation.representations_for(person_id=agent.id, at=at)
    return list(Person.objects.filter(id__in=[r.subject_id for r in reps if not r.is_self]))


def personal_identity_code_for(subject_id: UUID) -> str:
    """The personal identity code of a person, for connectors that must name them (Kanta).

    Connectors reach this through settings.TAHTO_SUBJECT_RESOLVER, never by import.
    """
    return Person.objects.values_list("personal_identity_code", flat=True).get(id=subject_id)
