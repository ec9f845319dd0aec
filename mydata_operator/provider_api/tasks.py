"""Periodic work of the provider API. Safe to run twice."""

from celery import shared_task
from django.utils import timezone

from mydata_operator.security import dpop

from . import client_keys, fapi, tokens


@shared_task(acks_late=True)
def tokens_revoke_ended_task() -> int:
    """Revoke the tokens of consents that the consent log shows withdrawn, paused, expired,
    terminated or revoked since the last run (the live checks refuse them at once anyway;
    this removes them from the token tables)."""
    return tokens.tokens_revoke_follow()


@shared_task(acks_late=True)
def client_jwt_uses_prune_task() -> int:
    """Forget the jtis of client JWTs that have expired."""
    return client_keys.client_jwt_uses_prune()


@shared_task(acks_late=True)
def dpop_uses_prune_task() -> int:
    """Forget the jtis of DPoP proofs too old to be accepted again."""
    return dpop.dpop_uses_prune()


@shared_task(acks_late=True)
def pushed_requests_prune_task() -> int:
    """Forget pushed authorization requests an hour after they expired."""
    return fapi.pushed_prune(now=timezone.now())
