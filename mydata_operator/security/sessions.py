"""The session's clocks: when it started and when it was last used."""

import time

from django.http import HttpRequest

SESSION_STARTED = "tahto_session_started"
SESSION_SEEN = "tahto_session_seen"


def session_stamp(request: HttpRequest) -> None:
    """Start the session's clocks (at sign-in)."""
    now = time.time()
    request.session[SESSION_STARTED] = now
    request.session[SESSION_SEEN] = now
