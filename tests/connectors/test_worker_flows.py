"""The flows end to end: a real Celery worker and the Kanta stand-in as separate processes.

Run with PostgreSQL and Redis (`make test-services`); `make test` leaves them out.
"""

from typing import Any

import pytest

from connectors.fhir.push import record_system
from connectors.models import OutboxItem
from connectors.wellbeing import wellbeing_submit
from consents import services
from consents.models import LogEntry
from tests.conftest import APP_ID, grant, wellbeing_scope
from tests.connectors.conftest import sweep_until
from tests.connectors.test_no_copies import database_text

pytestmark = pytest.mark.services

S = OutboxItem.Status
PHR_ONLY = wellbeing_scope(targets=[{"type": "kanta-phr"}])


def steps(value: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "55423-8"}]},
        "note": [{"text": f"worker-flow-{value}"}],
        "valueQuantity": {"value": value, "unit": "steps"},
    }


def identifiers(result: Any, count: int) -> list[str]:
    return [f"{record_system()}|{result.submission_id}/{i}" for i in range(count)]


def statuses(connector: str) -> set[str]:
    return set(OutboxItem.objects.filter(connector=connector).values_list("status", flat=True))


def test_worker_registers_a_consent_in_kanta_and_then_its_withdrawal(
    connector_worker: Any, kanta_server: Any, citizen: Any
) -> None:
    connector_worker.start()
    consent = grant(citizen, "provider-sharing")
    sweep_until(lambda: statuses("kanta.consent") == {S.DONE}, 30, "the registration")
    services.consent_withdraw(consent=consent, actor=services.Actor.person(citizen.id))

    def withdrawn_in_kanta() -> bool:
        stored = kanta_server._call("GET", f"/fhir/Consent/{consent.lineage}")
        return bool(stored["status"] == "inactive")

    sweep_until(withdrawn_in_kanta, 30, "the withdrawal in Kanta")


def test_worker_stores_permitted_wellbeing_data_in_kanta_phr(
    connector_worker: Any, kanta_server: Any, citizen: Any
) -> None:
    connector_worker.start()
    grant(citizen, "wellbeing-sharing", scope=PHR_ONLY)
    result = wellbeing_submit(
        subject_id=citizen.id, source_application=APP_ID, resources=[steps(1)]
    )
    assert result.queued == 1
    sweep_until(lambda: statuses("kanta.phr") == {S.DONE}, 30, "delivery to Kanta PHR")
    (ident,) = identifiers(result, 1)
    assert kanta_server.stats()["storedByIdentifier"][ident] == 1


def test_worker_moves_nothing_without_consent(
    connector_worker: Any, kanta_server: Any, citizen: Any
) -> None:
    connector_worker.start()
    result = wellbeing_submit(
        subject_id=citizen.id, source_application=APP_ID, resources=[steps(2)]
    )
    assert result.queued == 0 and result.targets[0].decision.reason == "no-consent"
    sweep_until(lambda: LogEntry.objects.filter(event_type="decision.deny").exists(), 5, "deny")
    assert not OutboxItem.objects.exists()
    (ident,) = identifiers(result, 1)
    assert ident not in kanta_server.stats()["received"]


def test_withdrawal_while_the_task_waits_stops_the_send(
    connector_worker: Any, kanta_server: Any, citizen: Any
) -> None:
    consent = grant(citizen, "wellbeing-sharing", scope=PHR_ONLY)
    result = wellbeing_submit(
        subject_id=citizen.id, source_application=APP_ID, resources=[steps(3)]
    )
    assert result.queued == 1  # committed, and its task is waiting in the broker
    services.consent_withdraw(consent=consent, actor=services.Actor.person(citizen.id))
    connector_worker.start()
    sweep_until(lambda: statuses("kanta.phr") == {S.DENIED}, 30, "the send to be stopped")
    (ident,) = identifiers(result, 1)
    assert ident not in kanta_server.stats()["received"]
    assert OutboxItem.objects.get(connector="kanta.phr").payload is None


def test_worker_killed_mid_send_finishes_the_flow_exactly_once(
    connector_worker: Any, kanta_server: Any, citizen: Any
) -> None:
    connector_worker.start()
    grant(citizen, "wellbeing-sharing", scope=PHR_ONLY)
    kanta_server.fault("timeout", count=1, seconds=6)  # Kanta is slow: the send hangs
    result = wellbeing_submit(
        subject_id=citizen.id, source_application=APP_ID, resources=[steps(4)]
    )
    (ident,) = identifiers(result, 1)
    sweep_until(lambda: ident in kanta_server.stats()["received"], 30, "the send to start")
    connector_worker.kill()  # mid-task: Kanta has the request, the worker never hears back
    assert statuses("kanta.phr") == {S.SENDING}
    connector_worker.start()
    sweep_until(lambda: statuses("kanta.phr") == {S.DONE}, 60, "the flow to finish")
    stats = kanta_server.stats()
    assert stats["received"][ident] == 2  # sent again after the crash...
    assert stats["storedByIdentifier"][ident] == 1  # ...and stored exactly once
    item = OutboxItem.objects.get(connector="kanta.phr")
    delivered = LogEntry.objects.filter(event_type="flow.delivered", entry__contains=item.key)
    assert delivered.count() == 1


@pytest.mark.parametrize("mode", ["500", "garbage", "timeout"])
def test_kanta_failing_and_recovering_loses_nothing(
    connector_worker: Any, kanta_server: Any, citizen: Any, mode: str
) -> None:
    connector_worker.env["TAHTO_CONNECTOR_TIMEOUT"] = "1"
    connector_worker.start()
    grant(citizen, "wellbeing-sharing", scope=PHR_ONLY)
    kanta_server.fault(mode, count=3, seconds=2)
    result = wellbeing_submit(
        subject_id=citizen.id, source_application=APP_ID, resources=[steps(10), steps(11)]
    )
    sweep_until(lambda: statuses("kanta.phr") == {S.DONE}, 60, "recovery")
    stats = kanta_server.stats()
    for ident in identifiers(result, 2):
        assert stats["storedByIdentifier"][ident] == 1
    assert OutboxItem.objects.get(connector="kanta.phr").attempts > 1
    for table, text in database_text().items():
        assert "worker-flow-1" not in text, f"a payload was left in {table}"


def test_worker_pushes_shared_data_to_the_provider_and_tells_its_webhook(
    connector_worker: Any,
    kanta_server: Any,
    provider_fhir_server: Any,
    webhook_receiver: Any,
    citizen: Any,
) -> None:
    from connectors.models import Endpoint
    from tests.conftest import PROVIDER_OID

    provider_fhir_server.clear_faults()
    for kind, url in [
        (Endpoint.Kind.FHIR, provider_fhir_server.url),
        (Endpoint.Kind.WEBHOOK, webhook_receiver.url),
    ]:
        Endpoint.objects.create(organisation_id=PROVIDER_OID, kind=kind, url=url)
    connector_worker.start()
    grant(citizen, "wellbeing-sharing")  # Kanta PHR and Terveys Oy
    result = wellbeing_submit(
        subject_id=citizen.id, source_application=APP_ID, resources=[steps(20)]
    )
    sweep_until(
        lambda: (
            statuses("provider.fhir") == {S.DONE}
            and statuses("kanta.phr") == {S.DONE}
            and statuses("provider.webhook") == {S.DONE}
        ),
        30,
        "every flow",
    )
    (ident,) = identifiers(result, 1)
    assert provider_fhir_server.stats()["storedByIdentifier"][ident] == 1
    assert kanta_server.stats()["storedByIdentifier"][ident] == 1
    assert [r["body"].count(b"consent.granted") for r in webhook_receiver.received] == [1]
