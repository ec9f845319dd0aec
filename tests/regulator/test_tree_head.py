"""Each regulator's last seen tree head is kept; every new one must prove it extends it."""

from typing import Any

import pytest
from django.test import Client

from consents import keys
from consents import log as consent_log
from consents.treehead import sign_tree_head
from mydata_operator.identity.models import Regulator
from mydata_operator.regulator.models import SeenTreeHead
from tests.conftest import grant

pytestmark = pytest.mark.usefixtures("frozen_now")


def seen(regulator: Regulator) -> SeenTreeHead:
    return SeenTreeHead.objects.get(regulator=regulator)


def test_first_visit_keeps_the_head_and_the_next_proves_the_log_only_grew(
    regulator_client: Client, regulator: Regulator, populated: int, citizen: Any
) -> None:
    first = regulator_client.get("/regulator/api/tree-head").json()
    assert first["consistent"] is True and first["previous_size"] is None
    grant(citizen, "biobank")
    second = regulator_client.get("/regulator/api/tree-head").json()
    assert second["consistent"] is True
    assert second["previous_size"] == first["tree_head"]["tree_size"]
    assert seen(regulator).tree_size == second["tree_head"]["tree_size"]


def _plant_other_history(regulator: Regulator, size: int) -> None:
    """The regulator once saw a (validly signed) head of another history than the stored one."""
    key = keys.signing_key()
    root = bytes(range(32))
    SeenTreeHead.objects.update_or_create(
        regulator=regulator,
        defaults={
            "tree_size": size,
            "timestamp_ms": 1,
            "root_hash": root,
            "signature": sign_tree_head(key.private_key, size, 1, root),
            "key_id": key.kid,
            "seen_at": "2026-03-01T00:00:00Z",
        },
    )


def test_head_that_does_not_extend_the_one_seen_raises_a_loud_warning_on_every_page(
    regulator_client: Client, regulator: Regulator, populated: int
) -> None:
    _plant_other_history(regulator, 3)
    for url in ("/regulator/", "/regulator/statistics/", "/regulator/integrity/"):
        text = regulator_client.get(url).content.decode()
        assert 'role="alert" id="consistency-alarm"' in text, url
        assert "the consistency proof does not verify" in text
    assert seen(regulator).tree_size == 3  # kept, so the warning stays
    assert seen(regulator).failure


def test_api_reports_the_consistency_failure(
    regulator_client: Client, regulator: Regulator, populated: int
) -> None:
    _plant_other_history(regulator, 3)
    body = regulator_client.get("/regulator/api/tree-head").json()
    assert body["consistent"] is False
    assert "does not extend the log of size 3" in body["message"]


def test_a_log_that_shrank_is_reported(
    regulator_client: Client, regulator: Regulator, populated: int
) -> None:
    _plant_other_history(regulator, consent_log.log_head().size + 100)
    body = regulator_client.get("/regulator/api/tree-head").json()
    assert body["consistent"] is False
    assert "the log shrank" in body["message"]


def test_integrity_page_says_consistent_when_it_is(
    regulator_client: Client, populated: int
) -> None:
    regulator_client.get("/regulator/integrity/")
    text = regulator_client.get("/regulator/integrity/").content.decode()
    assert "Consistent" in text
    assert "consistency-alarm" not in text
