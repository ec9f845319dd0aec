"""Every page checks the current tree head against the newest checkpoint a witness cosigned.

What a regulator saw is remembered by their witness on their own machine; here the operator
holds only the witnesses' cosignatures, which it cannot forge. A head that does not extend a
witnessed checkpoint raises an alarm on every page.
"""

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client
from django.utils import timezone

from consents import checkpoint as cp
from consents import log as consent_log
from consents import witnesses
from consents.models import Cosignature, Witness
from tests.conftest import grant

pytestmark = pytest.mark.usefixtures("frozen_now")

NAME = "valvira.example/w1"


@pytest.fixture
def witness_key(db: Any) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    witnesses.witness_register(
        vkey=cp.vkey(NAME, key.public_key(), cp.SIG_COSIGNATURE_V1), label="Valvira"
    )
    return key


def cosign_current(key: Ed25519PrivateKey) -> int:
    """The witness cosigns the current checkpoint, through the same path as the API."""
    head = consent_log.tree_head_sign()
    note = witnesses.checkpoint_note(head)
    text = cp.parse_note(note).text
    witnesses.cosignatures_add(note=note + cp.cosign(text, NAME, key, 1_772_000_000).line())
    return head.tree_size


def plant_other_history(key: Ed25519PrivateKey, size: int) -> None:
    """The witness once cosigned a checkpoint of another history than the stored one."""
    root = bytes(range(32))
    text = cp.checkpoint_text(cp.Checkpoint(witnesses.log_origin(), size, root))
    sig = cp.cosign(text, NAME, key, 1_772_000_000)
    Cosignature.objects.create(
        witness=Witness.objects.get(name=NAME),
        tree_size=size,
        root_hash=root,
        checkpoint=text,
        timestamp=1_772_000_000,
        signature=sig.signature[8:],
        received_at=timezone.now(),
    )


def test_head_is_proven_to_extend_the_checkpoint_a_witness_cosigned(
    regulator_client: Client, populated: int, citizen: Any, witness_key: Ed25519PrivateKey
) -> None:
    first = regulator_client.get("/regulator/api/tree-head").json()
    assert first["consistent"] is True and first["previous_size"] is None
    assert first["message"] == "no witness has cosigned a checkpoint of this log yet"
    witnessed = cosign_current(witness_key)
    grant(citizen, "biobank")
    consent_log.log_integrate()
    second = regulator_client.get("/regulator/api/tree-head").json()
    assert second["consistent"] is True
    assert second["previous_size"] == witnessed
    assert second["witness"] == "Valvira"
    assert second["tree_head"]["tree_size"] > witnessed


def test_head_that_does_not_extend_the_witnessed_one_raises_a_loud_warning_on_every_page(
    regulator_client: Client, populated: int, witness_key: Ed25519PrivateKey
) -> None:
    plant_other_history(witness_key, 3)
    for url in ("/regulator/", "/regulator/statistics/", "/regulator/integrity/"):
        text = regulator_client.get(url).content.decode()
        assert 'role="alert" id="consistency-alarm"' in text, url
        assert "the consistency proof does not verify" in text
    # Nothing here forgets it: the cosignature is append-only and stays.
    text = regulator_client.get("/regulator/").content.decode()
    assert "consistency-alarm" in text


def test_api_reports_the_consistency_failure(
    regulator_client: Client, populated: int, witness_key: Ed25519PrivateKey
) -> None:
    plant_other_history(witness_key, 3)
    body = regulator_client.get("/regulator/api/tree-head").json()
    assert body["consistent"] is False
    assert "does not extend the log of size 3 that witness Valvira cosigned" in body["message"]


def test_a_log_that_shrank_is_reported(
    regulator_client: Client, populated: int, witness_key: Ed25519PrivateKey
) -> None:
    plant_other_history(witness_key, consent_log.log_head().size + 100)
    body = regulator_client.get("/regulator/api/tree-head").json()
    assert body["consistent"] is False
    assert "the log shrank" in body["message"]


def test_forged_cosignature_in_the_database_is_reported(
    regulator_client: Client, populated: int, witness_key: Ed25519PrivateKey
) -> None:
    plant_other_history(Ed25519PrivateKey.generate(), 3)  # not the registered witness's key
    body = regulator_client.get("/regulator/api/tree-head").json()
    assert body["consistent"] is False
    assert "does not verify" in body["message"]


def test_integrity_page_says_consistent_and_shows_who_vouched_for_which_size(
    regulator_client: Client, populated: int, witness_key: Ed25519PrivateKey
) -> None:
    text = regulator_client.get("/regulator/integrity/").content.decode()
    assert "No witness has cosigned a checkpoint of this log yet." in text
    witnessed = cosign_current(witness_key)
    text = regulator_client.get("/regulator/integrity/").content.decode()
    assert "Consistent" in text
    assert "consistency-alarm" not in text
    assert f">{witnessed}</td>" in text
    assert 'Valvira (<time datetime="2026-02-25' in text  # local time shown, UTC in the title
