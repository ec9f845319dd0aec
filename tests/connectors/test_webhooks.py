"""Providers hear of consent changes at their webhook: signed, metadata only."""

from typing import Any

from connectors.models import OutboxItem
from connectors.providers.signing import SIGNATURE_HEADER, notification_verify
from consents import keys, services
from tests.conftest import grant
from tests.connectors.conftest import json_body, pump


def test_withdrawal_is_told_to_the_providers_webhook_signed(
    kanta: Any, citizen: Any, provider_webhook: Any, webhook_receiver: Any
) -> None:
    consent = grant(citizen, "provider-sharing")
    services.consent_withdraw(consent=consent, actor=services.Actor.person(citizen.id))
    pump("provider.webhook")
    events = [json_body(r)["event"] for r in webhook_receiver.received]
    assert events == ["consent.granted", "consent.withdrawn"]
    last = webhook_receiver.received[-1]
    told = notification_verify(last["body"], last["headers"][SIGNATURE_HEADER], keys.public_jwks())
    assert told["consent"] == {
        "id": str(consent.id),
        "lineage": str(consent.lineage),
        "version": 1,
        "kind": "provider-sharing",
        "status": "withdrawn",
    }
    assert set(told) == {"event", "logSeq", "time", "consent"}  # no scope, no data


def test_a_tampered_notification_does_not_verify(
    kanta: Any, citizen: Any, provider_webhook: Any, webhook_receiver: Any
) -> None:
    grant(citizen, "provider-sharing")
    pump("provider.webhook")
    sent = webhook_receiver.received[0]
    tampered = sent["body"].replace(b"granted", b"revoked")
    try:
        notification_verify(tampered, sent["headers"][SIGNATURE_HEADER], keys.public_jwks())
    except ValueError as exc:
        assert "bad signature" in str(exc)
    else:
        raise AssertionError("a tampered body verified")


def test_a_webhook_that_is_down_is_retried(
    kanta: Any, citizen: Any, provider_webhook: Any, webhook_receiver: Any
) -> None:
    webhook_receiver.status = 503
    grant(citizen, "provider-sharing")
    assert set(pump("provider.webhook").values()) == {OutboxItem.Status.PENDING}


def test_a_provider_the_consent_does_not_concern_hears_nothing(
    kanta: Any, other_citizen: Any, provider_webhook: Any, webhook_receiver: Any
) -> None:
    grant(other_citizen, "biobank")  # concerns the biobank, not Terveys Oy
    pump()
    assert webhook_receiver.received == []
