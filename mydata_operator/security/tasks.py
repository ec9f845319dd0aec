"""Periodic work of the security app. Safe to run twice."""

from celery import shared_task

from . import sessions


@shared_task(acks_late=True)
def sessions_clear_expired_task() -> int:
    """Delete sessions whose time is up, so the session table holds only live ones."""
    return sessions.sessions_clear_expired()
