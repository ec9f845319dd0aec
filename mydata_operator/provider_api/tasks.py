"""Periodic work of the provider API. Safe to run twice."""

from celery import shared_task
from django.utils import timezone

from . import binding


@shared_task(acks_late=True)
def tokens_revoke_ended_task() -> int:
    """Revoke the tokens of consents that ended (the live checks refuse them anyway; this
    also removes them from the token tables)."""
    return binding.tokens_revoke_ended(at=timezone.now())
