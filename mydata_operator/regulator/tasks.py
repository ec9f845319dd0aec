"""The periodic integrity check of the whole log: the same check as `manage.py verify_log`."""

from celery import shared_task

from .integrity import integrity_check_run


@shared_task(acks_late=True)
def log_integrity_check_task() -> bool:
    """Check the log, consents and receipts; store the result and log it. True when ok."""
    return integrity_check_run(source="periodic").ok
