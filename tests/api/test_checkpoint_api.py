"""The checkpoint, its verifier key, and witness cosignatures through the public log API."""

import json
from io import StringIO
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.test import Client

from consents import checkpoint as cp
from consents import log as consent_log
from consents.models import Cosignature, Witness
from tests.conftest import grant

pytestmark = pytest.mark.usefixtures("frozen_now")

ORIGIN = "127.0.0.1:8000/consent-log"


@pytest.fixture
def logged(citizen: Any) -> int:
    grant(citizen, "provider-sharing")
    grant(citizen, "biobank")
    return consent_log.log_head().size


def fetch(client: Client) -> str:
    response = client.get("/api/v1/log/checkpoint")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    return response.content.decode()


def register(name: str = "valvira.example/w1") -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    out = StringIO()
    call_command(
        "witness_register",
        cp.vkey(name, key.public_key(), cp.SIG_COSIGNATURE_V1),
        "--label",
        "Valvira",
        stdout=out,
    )
    assert "registered witness Valvira" in out.getvalue()
    return key


def post(client: Client, note: str) -> Any:
    return client.post(
        "/api/v1/log/cosignatures",
        json.dumps({"checkpoint": note}),
        content_type="application/json",
    )


def cosigned(note: str, key: Ed25519PrivateKey, name: str = "valvira.example/w1") -> str:
    return note + cp.cosign(cp.parse_note(note).text, name, key, 1_772_000_000).line()


def test_checkpoint_is_the_signed_tree_head_as_a_signed_note(client: Client, logged: int) -> None:
    note = cp.parse_note(fetch(client))
    checkpoint = cp.parse_checkpoint(note.text)
    head = consent_log.tree_head_sign()
    assert checkpoint == cp.Checkpoint(ORIGIN, head.tree_size, bytes(head.root_hash))
    vkey = client.get("/api/v1/log/checkpoint-key").content.decode().strip()
    assert cp.verify_note_signature(note.text, note.signatures[0], cp.parse_vkey(vkey))
    assert len(note.signatures) == 1  # no witness yet


def test_cosignature_of_a_registered_witness_is_stored_and_published(
    client: Client, logged: int
) -> None:
    key = register()
    note = cosigned(fetch(client), key)
    response = post(client, note)
    assert response.status_code == 201, response.content
    assert response.json() == {"tree_size": logged, "stored": 1, "already_known": 0}
    assert post(client, note).json() == {"tree_size": logged, "stored": 0, "already_known": 1}
    assert Cosignature.objects.count() == 1
    published = cp.parse_note(fetch(client))
    assert len(published.signatures) == 2
    witness = cp.Verifier("valvira.example/w1", cp.SIG_COSIGNATURE_V1, key.public_key())
    assert cp.verify_cosignature(published.text, published.signatures[1], witness) == 1_772_000_000
    listed = client.get("/api/v1/log/witnesses").json()["witnesses"]
    assert listed == [
        {
            "name": "valvira.example/w1",
            "vkey": witness.vkey(),
            "label": "Valvira",
            "tree_size": logged,
            "cosigned_at": 1_772_000_000,
        }
    ]


def test_cosignature_by_an_unknown_key_is_refused_and_nothing_is_stored(
    client: Client, logged: int
) -> None:
    register()
    stranger = Ed25519PrivateKey.generate()
    response = post(client, cosigned(fetch(client), stranger, "stranger.example/w"))
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "unknown-witness"
    assert "unknown key stranger.example/w+" in body["errors"][0]["message"]
    assert not Cosignature.objects.exists()


def test_cosignature_that_does_not_verify_is_refused(client: Client, logged: int) -> None:
    key = register()
    note = fetch(client)
    # The registered witness's name and key id, but a signature of another checkpoint.
    other = cp.checkpoint_text(cp.Checkpoint(ORIGIN, 1, bytes(32)))
    forged = note + cp.cosign(other, "valvira.example/w1", key, 5).line()
    response = post(client, forged)
    assert response.status_code == 422
    assert "does not verify" in response.json()["errors"][0]["message"]
    assert not Cosignature.objects.exists()


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda n: n.replace("\n\n", "\n"), "malformed checkpoint"),
        (lambda n: n.replace(ORIGIN, "other.example/log"), "not of this log"),
        (
            lambda n: (
                n.split("\n", 2)[0] + "\n1\n" + n.split("\n", 3)[2] + "\n" + n.split("\n", 3)[3]
            ),
            "never signed a checkpoint of size 1",
        ),
    ],
)
def test_malformed_or_foreign_checkpoint_is_refused(
    client: Client, logged: int, mangle: Any, message: str
) -> None:
    key = register()
    response = post(client, mangle(cosigned(fetch(client), key)))
    assert response.status_code == 422
    assert message in response.json()["errors"][0]["message"]


def test_body_without_a_checkpoint_is_refused(client: Client, logged: int) -> None:
    response = post(client, "")
    assert response.status_code == 422
    response = client.post("/api/v1/log/cosignatures", "{}", content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/checkpoint"


def test_proof_request_beyond_the_log_size_is_a_clear_error(client: Client, logged: int) -> None:
    response = client.get(f"/api/v1/log/proofs/consistency?first=1&second={logged + 5}")
    assert response.status_code == 400
    assert f"the log's size {logged}" in response.json()["detail"]
    response = client.get(f"/api/v1/log/proofs/inclusion?seq=0&tree_size={logged + 1}")
    assert response.status_code == 400


def test_registering_a_note_key_as_a_witness_is_refused(db: Any) -> None:
    note_key = cp.vkey("w", Ed25519PrivateKey.generate().public_key(), cp.SIG_ED25519)
    with pytest.raises(CommandError, match="expected 0x04"):
        call_command("witness_register", note_key)
    assert not Witness.objects.exists()
