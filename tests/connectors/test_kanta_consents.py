"""National consents are registered in Kanta as FHIR Consent, and their changes follow."""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from connectors import follower, outbox
from connectors.models import LogCursor, OutboxItem
from consents import services
from consents.log import log_integrate
from consents.models import LogEntry
from tests.conftest import grant
from tests.connectors.conftest import pump

S = OutboxItem.Status


def kanta_consent(kanta: Any, lineage: Any) -> dict[str, Any]:
    return dict(kanta._call("GET", f"/fhir/Consent/{lineage}"))


def test_granted_biobank_consent_is_registered_in_kanta(kanta: Any, citizen: Any) -> None:
    consent = grant(citizen, "biobank")
    assert set(pump().values()) == {S.DONE}
    stored = kanta_consent(kanta, consent.lineage)
    assert stored["status"] == "active"
    assert stored["patient"]["identifier"]["value"] == citizen.personal_identity_code
    assert stored["scope"]["coding"][0]["code"] == "research"


def test_withdrawal_is_sent_to_kanta_as_an_inactive_consent(kanta: Any, citizen: Any) -> None:
    consent = grant(citizen, "provider-sharing")
    pump()
    services.consent_withdraw(consent=consent, actor=services.Actor.person(citizen.id))
    pump()
    stored = kanta_consent(kanta, consent.lineage)
    assert stored["status"] == "inactive"
    assert stored["meta"]["versionId"] == "2"


def test_wellbeing_consent_is_not_registered_in_kanta(kanta: Any, citizen: Any) -> None:
    grant(citizen, "wellbeing-sharing")
    log_integrate()  # as the integrator does after commit
    follower.log_follow()
    assert not OutboxItem.objects.filter(connector="kanta.consent").exists()


def test_delivered_item_erases_its_payload_and_is_logged(kanta: Any, citizen: Any) -> None:
    grant(citizen, "needs-assessment")
    pump()
    item = OutboxItem.objects.get(connector="kanta.consent")
    assert item.status == S.DONE and item.payload is None
    entry = LogEntry.objects.get(event_type="flow.delivered")
    assert entry.recipient == "kanta" and entry.subject_id == citizen.id


def test_follower_handles_each_log_entry_once(kanta: Any, citizen: Any) -> None:
    grant(citizen, "biobank")
    log_integrate()  # as the integrator does after commit
    assert follower.log_follow() == 1
    assert follower.log_follow() == 0
    assert LogCursor.objects.get(name=follower.FOLLOWER).next_seq == LogEntry.objects.count()


def test_kanta_500_retries_later_with_back_off(kanta: Any, citizen: Any) -> None:
    grant(citizen, "biobank")
    log_integrate()  # as the integrator does after commit
    follower.log_follow()
    item = OutboxItem.objects.get(connector="kanta.consent")
    kanta.fault("500", count=1)
    now = timezone.now()
    assert outbox.outbox_deliver(item.pk, now=now) == S.PENDING
    item.refresh_from_db()
    assert item.attempts == 1 and "500" in item.last_error
    assert item.next_attempt_at >= now + timedelta(seconds=5)
    assert outbox.outbox_deliver(item.pk, now=now) == S.PENDING  # not due yet: not sent
    assert outbox.outbox_deliver(item.pk, now=item.next_attempt_at) == S.DONE


def test_kanta_garbage_and_timeout_are_temporary(kanta: Any, citizen: Any, settings: Any) -> None:
    settings.TAHTO_CONNECTOR_TIMEOUT = 0.5
    grant(citizen, "biobank")
    log_integrate()  # as the integrator does after commit
    follower.log_follow()
    item = OutboxItem.objects.get(connector="kanta.consent")
    kanta.fault("garbage", count=1)
    assert outbox.outbox_deliver(item.pk) == S.PENDING
    item.refresh_from_db()
    kanta.fault("timeout", count=1, seconds=1)
    assert outbox.outbox_deliver(item.pk, now=item.next_attempt_at) == S.PENDING
    item.refresh_from_db()
    assert "timed out" in item.last_error
    assert outbox.outbox_deliver(item.pk, now=item.next_attempt_at) == S.DONE


def test_item_is_parked_after_the_last_attempt(kanta: Any, citizen: Any, settings: Any) -> None:
    settings.TAHTO_OUTBOX_MAX_ATTEMPTS = 2
    grant(citizen, "biobank")
    log_integrate()  # as the integrator does after commit
    follower.log_follow()
    item = OutboxItem.objects.get(connector="kanta.consent")
    kanta.fault("500", count=5)
    outbox.outbox_deliver(item.pk)
    item.refresh_from_db()
    assert outbox.outbox_deliver(item.pk, now=item.next_attempt_at) == S.PARKED
    item.refresh_from_db()
    assert item.last_error.startswith("gave up after 2 attempts")
    assert LogEntry.objects.filter(event_type="flow.failed").count() == 1


def test_an_item_claimed_by_a_live_worker_is_not_sent_again(kanta: Any, citizen: Any) -> None:
    grant(citizen, "biobank")
    log_integrate()  # as the integrator does after commit
    follower.log_follow()
    item = OutboxItem.objects.get(connector="kanta.consent")
    now = timezone.now()
    OutboxItem.objects.filter(pk=item.pk).update(status=S.SENDING, claimed_at=now)
    assert outbox.outbox_deliver(item.pk, now=now + timedelta(seconds=5)) == S.SENDING
    assert outbox.outbox_due(now=now + timedelta(seconds=5)) == []


def test_a_claim_of_a_dead_worker_is_taken_over(kanta: Any, citizen: Any, settings: Any) -> None:
    grant(citizen, "biobank")
    log_integrate()  # as the integrator does after commit
    follower.log_follow()
    item = OutboxItem.objects.get(connector="kanta.consent")
    now = timezone.now()
    OutboxItem.objects.filter(pk=item.pk).update(status=S.SENDING, claimed_at=now)
    later = now + timedelta(seconds=settings.TAHTO_OUTBOX_CLAIM_TIMEOUT_SECONDS + 1)
    assert outbox.outbox_due(now=later) == [item.pk]
    assert outbox.outbox_deliver(item.pk, now=later) == S.DONE


def test_an_approved_provider_request_is_registered_and_an_unanswered_one_is_not(
    kanta: Any, citizen: Any, other_citizen: Any
) -> None:
    from tests.conftest import PROVIDER_OID, provider_sharing_scope

    asked = [
        services.consent_request(
            subject_id=person.id,
            requester=PROVIDER_OID,
            kind="provider-sharing",
            scope=provider_sharing_scope(),
        )
        for person in (citizen, other_citizen)
    ]
    services.consent_approve(
        consent=asked[0], actor=services.Actor.person(citizen.id), notice_text="Notice."
    )
    services.consent_terminate(consent=asked[1], requester=PROVIDER_OID)
    pump()
    items = OutboxItem.objects.filter(connector="kanta.consent")
    assert list(items.values_list("consent_lineage", flat=True)) == [asked[0].lineage]
    assert kanta_consent(kanta, asked[0].lineage)["status"] == "active"


def test_the_sweep_sends_one_task_per_attempt(kanta: Any, citizen: Any, settings: Any) -> None:
    grant(citizen, "biobank")
    log_integrate()  # as the integrator does after commit
    follower.log_follow()
    item = OutboxItem.objects.get(connector="kanta.consent")
    now = timezone.now()
    assert outbox.outbox_due(now=now) == []  # its task was sent after commit
    lost = now + timedelta(seconds=settings.TAHTO_OUTBOX_CLAIM_TIMEOUT_SECONDS + 1)
    assert outbox.outbox_due(now=lost) == [item.pk]  # that message may be lost: send again
    assert outbox.outbox_due(now=lost) == []  # but only once
    kanta.fault("500", count=1)
    assert outbox.outbox_deliver(item.pk, now=lost) == S.PENDING
    item.refresh_from_db()
    assert outbox.outbox_due(now=item.next_attempt_at) == [item.pk]  # the retry's task
    assert outbox.outbox_due(now=item.next_attempt_at) == []
