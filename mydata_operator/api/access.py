"""Whose consents a signed-in user may see: their own and those they validly act for."""

from uuid import UUID

from django.utils import timezone

from mydata_operator.identity.selectors import person_for_user, principals_for_agent


def subjects_visible_to(user: object) -> set[UUID]:
    person = person_for_user(user)  # type: ignore[arg-type]
    if person is None:
        return set()
    return {person.id} | {p.id for p in principals_for_agent(agent=person, at=timezone.now())}
