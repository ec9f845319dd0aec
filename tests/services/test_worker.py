"""The consent core's periodic work, run by a live Celery worker on the real broker."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from consents.models import Consent, LogEntry, TreeHead
from consents.states import Status
from consents.tasks import consents_expire_task, log_sign_tree_head_task
from tests.conftest import grant
from tests.services.conftest import wait_for

pytestmark = pytest.mark.services


def test_worker_expires_a_consent_whose_period_ended(worker: Any, citizen: Any) -> None:
    now = timezone.now()
    ended = grant(citizen, "provider-sharing", valid_until=now + timedelta(seconds=1))
    lasting = grant(citizen, "biobank")
    until = now + timedelta(seconds=1)
    wait_for(lambda: timezone.now() > until, 5, "the period to end")
    consents_expire_task.delay()
    wait_for(
        lambda: Consent.objects.get(pk=ended.pk).status == Status.EXPIRED,
        30,
        "expiry by the worker",
    )
    assert Consent.objects.get(pk=lasting.pk).status == Status.ACTIVE
    expired_entries = LogEntry.objects.filter(consent_id=ended.id, event_type="consent.expired")
    assert expired_entries.count() == 1

    consents_expire_task.delay()  # running it again changes nothing
    log_sign_tree_head_task.delay()
    wait_for(lambda: TreeHead.objects.exists(), 30, "a signed tree head")
    assert expired_entries.count() == 1


def test_worker_signs_the_tree_head_the_api_serves(worker: Any, citizen: Any, client: Any) -> None:
    grant(citizen, "wellbeing-sharing")
    size = LogEntry.objects.count()
    log_sign_tree_head_task.delay()
    wait_for(lambda: TreeHead.objects.filter(tree_size=size).exists(), 30, "a signed tree head")
    body = client.get("/api/v1/log/tree-head").json()
    assert body["tree_size"] == size
    assert body["timestamp"] == TreeHead.objects.get(tree_size=size).timestamp_ms
