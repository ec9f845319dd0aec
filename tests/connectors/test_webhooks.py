"""Providers hear of consent changes at their webhook: signed, metadata only."""

from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone

from connectors import outbox
from connectors.models import Endpoint, OutboxItem
from connectors.providers.destinations import guarded_session
from connectors.providers.signing import SIGNATURE_HEADER, notification_verify
from consents import keys, services
from tests.conftest import PROVIDER_OID, grant
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


def test_delivery_to_a_loopback_webhook_is_refused_by_default(
    kanta: Any, citizen: Any, provider_webhook: Any, webhook_receiver: Any, settings: Any
) -> None:
    settings.TAHTO_WEBHOOK_ALLOW_LOOPBACK = False  # the production default
    grant(citizen, "provider-sharing")
    assert set(pump("provider.webhook").values()) == {OutboxItem.Status.PARKED}
    item = OutboxItem.objects.get(connector="provider.webhook")
    assert "webhook URL refused" in item.last_error
    assert "127.0.0.1, a loopback address" in item.last_error
    assert webhook_receiver.received == []  # nothing was sent


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[::1]:8000/admin/", "a loopback address"),
        ("https://10.0.0.1/", "a private address"),
        ("https://localhost:8443/hooks", "localhost resolves to 127.0.0.1"),
        ("http://1.1.1.1/hooks", "must use https"),
    ],
)
def test_an_unsafe_webhook_url_is_parked_before_connecting(
    kanta: Any, citizen: Any, db: Any, url: str, why: str
) -> None:
    # Stored before the check existed, or by hand: the delivery checks again.
    Endpoint.objects.create(organisation_id=PROVIDER_OID, kind=Endpoint.Kind.WEBHOOK, url=url)
    grant(citizen, "provider-sharing")
    # Parked at once (permanent), not pending: a refused connection would have been retried.
    assert set(pump("provider.webhook").values()) == {OutboxItem.Status.PARKED}
    item = OutboxItem.objects.get(connector="provider.webhook")
    assert why in item.last_error and item.attempts == 1


def test_the_sending_connection_itself_refuses_a_non_public_address(
    webhook_receiver: Any, settings: Any
) -> None:
    """Against DNS rebinding: the socket is opened only to an address checked just then."""
    settings.TAHTO_WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(requests.ConnectionError, match="a loopback address"):
        guarded_session().post(webhook_receiver.url, data=b"{}", timeout=5)
    assert webhook_receiver.received == []
    settings.TAHTO_WEBHOOK_ALLOW_LOOPBACK = True
    assert guarded_session().post(webhook_receiver.url, data=b"{}", timeout=5).status_code == 204


def test_a_name_that_turns_private_after_registration_is_parked(
    kanta: Any, citizen: Any, db: Any, monkeypatch: Any
) -> None:
    from tests.provider_api.test_webhooks import answering

    answering(monkeypatch, "hooks.provider.test", ["10.20.30.40"])
    Endpoint.objects.create(
        organisation_id=PROVIDER_OID,
        kind=Endpoint.Kind.WEBHOOK,
        url="https://hooks.provider.test/events",
    )
    grant(citizen, "provider-sharing")
    assert set(pump("provider.webhook").values()) == {OutboxItem.Status.PARKED}
    item = OutboxItem.objects.get(connector="provider.webhook")
    assert "hooks.provider.test resolves to 10.20.30.40, a private address" in item.last_error


def test_a_name_rebound_to_loopback_between_check_and_connect_reaches_nothing(
    kanta: Any,
    citizen: Any,
    webhook_receiver: Any,
    settings: Any,
    monkeypatch: Any,
) -> None:
    """DNS rebinding: public to the check, loopback (a real receiver here) to the connection."""
    from urllib.parse import urlsplit

    from tests.provider_api.test_webhooks import answering

    settings.TAHTO_WEBHOOK_ALLOW_LOOPBACK = False
    port = urlsplit(webhook_receiver.url).port
    answering(monkeypatch, "rebind.provider.test", ["1.1.1.1"], ["127.0.0.1"])
    Endpoint.objects.create(
        organisation_id=PROVIDER_OID,
        kind=Endpoint.Kind.WEBHOOK,
        url=f"https://rebind.provider.test:{port}/hooks",
    )
    grant(citizen, "provider-sharing")
    # the check saw 1.1.1.1; the connection was refused when the name answered 127.0.0.1
    assert set(pump("provider.webhook").values()) == {OutboxItem.Status.PENDING}
    assert webhook_receiver.received == []
    # the next attempt's check sees loopback and parks it for good
    item = OutboxItem.objects.get(connector="provider.webhook")
    later = timezone.now() + timedelta(hours=1)
    assert outbox.outbox_deliver(item.id, now=later) == OutboxItem.Status.PARKED
    item.refresh_from_db()
    assert "127.0.0.1, a loopback address" in item.last_error
    assert webhook_receiver.received == []
