"""Celery tasks of the connectors. Each takes ids, loads fresh state and is safe to run twice."""

from celery import shared_task

from . import follower, outbox


@shared_task(acks_late=True)
def outbox_deliver_task(item_id: int) -> str:
    """Deliver one outbox item (claim, decide again, send, record)."""
    return outbox.outbox_deliver(item_id)


@shared_task(acks_late=True)
def outbox_sweep_task() -> int:
    """Follow the consent log into the outbox, then send a task for every due item.

    Runs periodically (beat), so no flow depends on a task message sent after commit alone.
    """
    follower.log_follow()
    due = outbox.outbox_due()
    for item_id in due:
        outbox_deliver_task.delay(item_id)
    return len(due)
