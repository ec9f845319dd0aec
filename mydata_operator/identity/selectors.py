"""Reading people and the people a person may act for."""

import hashlib
import hmac
from datetime import datetime
from uuid import UUID

from django.conf import settings
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


def subject_pseudonym(code: str) -> UUID:
    """The pseudonymous id a person with this identity code has, or will have on joining.

    A keyed hash (HMAC-SHA-256 with TAHTO_PSEUDONYM_KEY), so the id cannot be traced back to
    the code without the key, and the same code always gives the same id.
    """
    key = settings.TAHTO_PSEUDONYM_KEY.encode()
    digest = hmac.new(key, b"tahto-subject:" + code.encode(), hashlib.sha256).digest()
    return UUID(bytes=digest[:16], version=4)


def subject_id_for_code(code: str) -> UUID:
    """The subject id of the person with this identity code, known or not: a known person's
    id, else the id they will have on joining (nothing is stored for an unknown code)."""
    known = Person.objects.filter(personal_identity_code=code).values_list("id", flat=True).first()
    return known if known is not None else subject_pseudonym(code)
