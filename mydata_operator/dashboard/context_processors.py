"""What every dashboard page shows around its content: whom the person is acting for."""

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from mydata_operator.identity.selectors import person_for_user

from . import selectors as S


def acting_for(request: HttpRequest) -> dict[str, Any]:
    """`acting_for`: the subject (not the person themself) whose matters the pages are about,
    and `acting_choices`: everyone the person may switch to (empty when they act for no one)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return {}
    person = person_for_user(user)
    if person is None:
        return {}
    at = timezone.now()
    subjects = S.subjects_for(person, at=at)
    if len(subjects) == 1:
        return {}
    chosen = S.acting_subject(person, request.session.get(S.ACTING_FOR), at=at)
    return {
        "acting_for": None if chosen.is_self else chosen,
        "acting_choices": subjects,
    }
