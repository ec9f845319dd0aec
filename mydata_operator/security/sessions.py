"""The session's clocks: when it started and when it was last used; and the end of every
session of one user (a staff member turned their account off)."""

import time

from django.http import HttpRequest
from django.utils import timezone

from .models import UserSession

SESSION_STARTED = "tahto_session_started"
SESSION_SEEN = "tahto_session_seen"


def session_stamp(request: HttpRequest) -> None:
    """Start the session's clocks (at sign-in)."""
    now = time.time()
    request.session[SESSION_STARTED] = now
    request.session[SESSION_SEEN] = now


def sessions_end_for_user(*, user_id: int) -> int:
    """End every session signed in as this user; return how many were still unexpired.

    Two statements on the `models.UserSession.user_id` index (count, delete), not a read of
    every stored session. A deleted session does not come back when the account is turned on
    again: the user signs in anew."""
    sessions = UserSession.objects.filter(user_id=user_id)
    unexpired = sessions.filter(expire_date__gt=timezone.now()).count()
    sessions.delete()
    return unexpired


def sessions_clear_expired() -> int:
    """Delete the sessions whose time is up (Django's engine never does by itself); return
    how many. Run by the worker's scheduler (`security.tasks.sessions_clear_expired_task`)."""
    deleted, _ = UserSession.objects.filter(expire_date__lte=timezone.now()).delete()
    return deleted
