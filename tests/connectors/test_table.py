"""The connector table: the follower and the outbox find every counterpart there, by name."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from connectors import follower, outbox, table
from connectors.base import (
    ConnectorError,
    Delivery,
    LogEvent,
    OutboxConnector,
    OutboxRequest,
)
from connectors.models import OutboxItem
from consents.events import EventType
from consents.log import log_integrate
from consents.models import LogEntry
from consents.policy import Decision, DecisionRequest
from tests.conftest import grant

S = OutboxItem.Status


class RegisterConnector(OutboxConnector):
    """A new counterpart: told of every withdrawal, by the consent's lineage."""

    name = "register.withdrawal"
    events = frozenset({EventType.CONSENT_WITHDRAWN})
    sent: list[dict[str, Any]]

    def __init__(self) -> None:
        self.sent = []

    def outbox_items(self, event: LogEvent) -> Sequence[OutboxRequest]:
        return [OutboxRequest({"lineage": str(event.lineage), "kind": event.consent["kind"]})]

    def decision_request(self, item: OutboxItem, at: datetime) -> DecisionRequest | None:
        return None  # consent metadata only

    def send(self, item: OutboxItem, decision: Decision | None) -> Delivery:
        self.sent.append(dict(item.payload or {}))
        return Delivery("register", {"told": 1})


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch) -> RegisterConnector:
    connector = RegisterConnector()
    monkeypatch.setitem(table.CONNECTORS, connector.name, connector)
    return connector


def test_a_counterpart_in_the_table_gets_the_entries_it_acts_on(
    citizen: Any, register: RegisterConnector
) -> None:
    from consents import services

    consent = grant(citizen, "wellbeing-sharing")
    log_integrate()  # as the integrator does after commit
    follower.log_follow()
    assert not OutboxItem.objects.filter(connector=register.name).exists()  # granted: not its
    services.consent_withdraw(consent=consent, actor=services.Actor.person(citizen.id))
    log_integrate()  # as the integrator does after commit
    follower.log_follow()
    withdrawn = LogEntry.objects.get(event_type=EventType.CONSENT_WITHDRAWN)
    item = OutboxItem.objects.get(connector=register.name)
    assert item.key == f"register.withdrawal:{withdrawn.seq}"
    assert item.log_seq == withdrawn.seq and item.consent_lineage == consent.lineage
    assert outbox.outbox_deliver(item.pk) == S.DONE
    assert register.sent == [{"lineage": str(consent.lineage), "kind": "wellbeing-sharing"}]


def test_every_outbox_connector_is_found_by_its_name() -> None:
    names = [c.name for c in table.outbox_connectors()]
    assert names == ["kanta.consent", "kanta.phr", "provider.fhir", "provider.webhook"]
    for name in names:
        assert table.connector_for(name).name == name


@pytest.mark.parametrize("name", ["no.such", "biobank", "kanta.query"])
def test_an_item_for_no_outbox_connector_is_a_permanent_error(name: str) -> None:
    with pytest.raises(ConnectorError, match=f"no outbox connector named '{name}'") as caught:
        table.connector_for(name)
    assert caught.value.permanent


def test_an_item_whose_connector_left_the_table_is_parked_with_its_reason(
    citizen: Any, register: RegisterConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consents import services

    consent = grant(citizen, "wellbeing-sharing")
    services.consent_withdraw(consent=consent, actor=services.Actor.person(citizen.id))
    log_integrate()  # as the integrator does after commit
    follower.log_follow()
    item = OutboxItem.objects.get(connector=register.name)
    monkeypatch.delitem(table.CONNECTORS, register.name)
    assert outbox.outbox_deliver(item.pk) == S.PARKED
    item.refresh_from_db()
    assert "no outbox connector named 'register.withdrawal'" in item.last_error
    assert register.sent == []
    failed = LogEntry.objects.get(event_type=EventType.DATA_FAILED)
    assert failed.recipient == "register.withdrawal" and failed.subject_id == citizen.id


def test_the_outbox_sends_its_task_by_the_name_of_the_delivering_task() -> None:
    from connectors import tasks
    from mydata_operator.celery import app

    # The outbox does not import the tasks (they import it); a renamed task would break here.
    assert app.tasks[outbox.DELIVER_TASK].run is tasks.outbox_deliver_task.run
