"""Periodic work of the consent core. Tasks load fresh state and are safe to run twice."""

from celery import shared_task

from . import log, services


@shared_task(acks_late=True)
def consents_expire_task() -> int:
    """Expire consents whose period ended and requests nobody answered."""
    return services.consents_expire()


@shared_task(acks_late=True)
def log_sign_tree_head_task() -> int:
    """Integrate what is pending and sign the log's current head, so regulators always find a
    recent one (the integrator signs each batch; this also covers the empty log)."""
    log.log_integrate()
    return log.tree_head_sign().tree_size


@shared_task(acks_late=True)
def log_integrate_task() -> int:
    """Integrate committed log entries (a fallback for the integrator process; one runs at a
    time, a second call returns 0 at once)."""
    return log.log_integrate()
