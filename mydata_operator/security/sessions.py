"""The session's clocks: when it started and when it was last used; and the end of every
session of one user (a staff member turned their account off)."""

import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.utils import timezone

SESSION_STARTED = "tahto_session_started"
SESSION_SEEN = "tahto_session_seen"


def session_stamp(request: HttpRequest) -> None:
    """Start the session's clocks (at sign-in)."""
    now = time.time()
    request.session[SESSION_STARTED] = now
    request.session[SESSION_SEEN] = now


def sessions_end_for_user(*, user_id: int) -> int:
    """Delete every unexpired session signed in as this user; return how many.

    Django keeps no index of a user's sessions, so this reads each stored session (the
    database holds them: the service's session engine is `db`); it is run by a staff action,
    not on a request path. Each one is deleted through the configured engine, so a cached
    copy goes with it. A deleted session does not come back when the account is turned on
    again: the user signs in anew."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    signed_in = str(user_id)
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) == signed_in
    ]
    for key in keys:
        store(session_key=key).delete()
    return len(keys)
