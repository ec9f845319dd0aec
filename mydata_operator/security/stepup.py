"""Step-up: the one rule that a consent changes only after a recent proof of identity.

Every path that grants, changes, pauses, resumes, withdraws, approves or rejects a consent
asks `stepup_required(request)`: the dashboard (which asks for the password or one-time code
on the same page), the citizen JSON API (which answers 403 problem+json `step-up-required`
naming where to confirm), and the OAuth approval page (which sends the person to confirm and
back). The proof itself (password or authenticator code) is taken by the dashboard's
security page (`dashboard.stepup.step_up_verify`); sign-in counts as a proof too. The session
only remembers when the last proof was, under `SESSION_KEY`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.response import Response

from mydata_operator.api.problems import problem

from .citizen_apps import AppAccess

SESSION_KEY = "tahto_step_up_at"

#: The problem code (and last part of the problem type URI) of a refused stale session.
PROBLEM_CODE = "step-up-required"

#: The page where a person confirms it is them; `?next=` brings them back.
STEP_UP_URL_NAME = "dashboard:security"


def step_up_window() -> timedelta:
    return timedelta(seconds=getattr(settings, "TAHTO_STEP_UP_SECONDS", 300))


def step_up_record(request: HttpRequest, *, at: datetime | None = None) -> None:
    """Remember in the session that the person proved who they are at `at` (default now)."""
    request.session[SESSION_KEY] = (at or timezone.now()).timestamp()


def step_up_fresh(request: HttpRequest) -> bool:
    """Has the person proved who they are within the step-up window?"""
    session = getattr(request, "session", None)
    stamp = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(stamp, int | float):
        return False
    age = timezone.now().timestamp() - stamp
    return 0 <= age <= step_up_window().total_seconds()


def stepup_required(request: HttpRequest) -> bool:
    """True when a consent may not be changed on this request before the person confirms it
    is them again (no proof in the session, or the last one is older than the window). For a
    citizen app's token (the API's `request.auth`), the proof is the step-up its grant was
    approved with."""
    access = getattr(request, "auth", None)
    if isinstance(access, AppAccess):
        return not access.step_up_fresh(timezone.now())
    return not step_up_fresh(request)


def step_up_url(next_url: str = "") -> str:
    """Where to confirm it is you; with `next_url`, the page sends you back there."""
    url = reverse(STEP_UP_URL_NAME)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def step_up_next(request: HttpRequest, candidate: str | None) -> str:
    """`candidate` if it is a path on this site, else "" (no open redirect)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def step_up_redirect(request: HttpRequest, next_url: str | None = None) -> HttpResponseRedirect:
    """For a page (e.g. the OAuth approval page): go confirm it is you, then come back to
    `next_url` (default: this page, as a GET)."""
    return HttpResponseRedirect(step_up_url(next_url or request.get_full_path()))


def step_up_problem(request: HttpRequest, *, next_url: str = "") -> Response:
    """403 problem+json for an API call that would change a consent on a stale session."""
    minutes = max(1, round(step_up_window().total_seconds() / 60))
    return problem(
        403,
        PROBLEM_CODE,
        "Step-up required: confirm it is you before changing a consent.",
        f"You last confirmed it is you more than {minutes} minutes ago. Confirm with your "
        "password (or authenticator code) at the stepUp address, then repeat this request; "
        "nothing was changed.",
        stepUp=step_up_url(next_url),
    )


F = TypeVar("F", bound=Callable[..., Any])


def step_up_api(method: F) -> F:
    """Decorate an API view's changing method (post, put, patch, delete): refused with
    `step_up_problem` before it reads or changes anything when `stepup_required`."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if stepup_required(request):
            return step_up_problem(request)
        return method(self, request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]  # same signature as `method`
