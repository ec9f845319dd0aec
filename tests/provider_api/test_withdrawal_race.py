"""Provider data calls racing a withdrawal, on PostgreSQL with real commits and threads.

A decision share-locks the consent it reads and the data path holds the decision, the
search in Kanta and the `flow.delivered` entry in one transaction; the withdrawal locks the
consent row for update. So the log never shows a permit or a delivery of the consent after
its withdrawal, and no call that began after the withdrawal committed gets data.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from consents import services
from consents.models import Consent
from mydata_operator.identity.models import Person
from tests.fixtures.kanta import KantaStandIn
from tests.provider_api.conftest import (
    ProviderClient,
    authorize,
    bound_headers,
    exchange,
    request_consent,
)

pytestmark = pytest.mark.services

CALLERS = 8
ROUNDS = 3


@dataclass
class Call:
    started: float
    status: int


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.01)


def _history(browser: Client, consent: Consent) -> list[str]:
    """The consent's log entries in log order, as the citizen's API returns them."""
    answer = browser.get(f"/api/v1/me/consents/{consent.id}/history")
    assert answer.status_code == 200, answer.content
    return [e["type"] for e in answer.json()["entries"]]


def _race(
    browser: Client, pc: ProviderClient, consent: Consent, citizen: Person
) -> tuple[list[Call], float]:
    tokens = exchange(Client(), pc, authorize(browser, pc.client_id, consent.id)).json()
    token = tokens["access_token"]
    calls: list[Call] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    lock = threading.Lock()

    def caller() -> None:
        client = Client()
        try:
            while not stop.is_set():
                started = time.monotonic()
                answer = client.get(
                    "/api/v1/data/Condition",
                    **bound_headers(token, "GET", "/api/v1/data/Condition"),
                )
                with lock:
                    calls.append(Call(started, answer.status_code))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()

    def served() -> int:
        with lock:
            return sum(c.status == 200 for c in calls)

    def begun_after(moment: float) -> int:
        with lock:
            return sum(c.started > moment for c in calls)

    try:
        wait_for(lambda: served() >= CALLERS, 60, "calls that get data before the withdrawal")
        services.consent_withdraw(
            consent=Consent.objects.get(id=consent.id), actor=services.Actor.person(citizen.id)
        )
        committed = time.monotonic()
        wait_for(lambda: begun_after(committed) >= CALLERS, 60, "calls after the withdrawal")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    return calls, committed


def test_no_permit_or_delivery_after_the_withdrawal_and_no_data_after_it_committed(
    committed_db: None,
    citizen: Person,
    citizen_browser: Client,
    provider_client: ProviderClient,
    kanta: KantaStandIn,
) -> None:
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: set DATABASE_URL=postgres://...")
    for _ in range(ROUNDS):
        consent = request_consent(citizen, timezone.now())
        calls, committed = _race(citizen_browser, provider_client, consent, citizen)
        served_before = [c for c in calls if c.status == 200]
        after = [c for c in calls if c.started > committed]
        assert served_before, "no call got data before the withdrawal: the race did not run"
        assert after, "no call began after the withdrawal committed: the race did not run"
        assert all(c.status != 200 for c in after), [c.status for c in after]

        types = _history(citizen_browser, consent)
        withdrawn = types.index("consent.withdrawn")
        assert "decision.permit" in types[:withdrawn]
        late = [t for t in types[withdrawn:] if t in ("decision.permit", "flow.delivered")]
        assert not late, f"{len(late)} permits or deliveries logged after the withdrawal"
        # Every permit before it was followed by its delivery before it, too.
        before = types[:withdrawn]
        assert before.count("decision.permit") == before.count("flow.delivered")
