"""The log's public endpoints: tree heads, proofs and keys that anyone can check."""

import base64
from typing import Any

import pytest
from django.test import Client

from consents import log, merkle, treehead
from consents.models import LogEntry
from tests.conftest import grant

pytestmark = pytest.mark.usefixtures("frozen_now")


def b64d(s: str) -> bytes:
    return base64.b64decode(s)


@pytest.fixture
def populated(citizen: Any, family: Any) -> int:
    for kind in ("provider-sharing", "biobank", "needs-assessment", "wellbeing-sharing"):
        grant(citizen, kind)
    grant(family.child, "biobank", actor=family.guardian)
    log.log_integrate()  # as the integrator does after commit
    return LogEntry.objects.count()


def test_jwks_publishes_public_keys_only(client: Client, populated: int) -> None:
    body = client.get("/.well-known/jwks.json").json()
    assert body["keys"] and all("d" not in k and k["crv"] == "Ed25519" for k in body["keys"])


def test_tree_head_and_every_inclusion_proof_verify(client: Client, populated: int) -> None:
    head = client.get("/api/v1/log/tree-head").json()
    assert head["tree_size"] == populated
    jwks = client.get("/.well-known/jwks.json").json()
    key = treehead.public_key_from_jwk(next(k for k in jwks["keys"] if k["kid"] == head["key_id"]))
    parsed = treehead.tree_head_from_json(head)
    assert parsed.verify(key)
    root = b64d(head["sha256_root_hash"])
    for entry in LogEntry.objects.order_by("leaf__seq"):
        assert entry.seq is not None  # all integrated
        proof = client.get(
            "/api/v1/log/proofs/inclusion", {"seq": entry.seq, "tree_size": populated}
        ).json()
        assert merkle.verify_entry_inclusion(
            entry.entry.encode(),
            entry.seq,
            populated,
            [b64d(h) for h in proof["inclusion_proof"]],
            root,
        )


def test_consistency_proof_links_an_old_head_to_a_new_one(client: Client, citizen: Any) -> None:
    grant(citizen, "provider-sharing")
    log.log_integrate()
    old = client.get("/api/v1/log/tree-head").json()
    grant(citizen, "biobank")
    grant(citizen, "wellbeing-sharing")
    assert client.get("/api/v1/log/tree-head").json() == old  # pending: not in a head yet
    log.log_integrate()
    new = client.get("/api/v1/log/tree-head").json()
    assert new["tree_size"] > old["tree_size"]
    proof = client.get(
        "/api/v1/log/proofs/consistency", {"first": old["tree_size"], "second": new["tree_size"]}
    ).json()["consistency_proof"]
    assert merkle.verify_consistency(
        old["tree_size"],
        new["tree_size"],
        b64d(old["sha256_root_hash"]),
        b64d(new["sha256_root_hash"]),
        [b64d(h) for h in proof],
    )


@pytest.mark.parametrize(
    ("path", "params", "needle"),
    [
        ("/api/v1/log/proofs/inclusion", {"seq": 0}, "tree_size"),
        ("/api/v1/log/proofs/inclusion", {"seq": "x", "tree_size": 1}, "seq must be an integer"),
        ("/api/v1/log/proofs/inclusion", {"seq": 0, "tree_size": 10**6}, "tree_size"),
        ("/api/v1/log/proofs/consistency", {"first": 3, "second": 1}, "first <= second"),
    ],
)
def test_bad_proof_requests_get_problem_json(
    client: Client, populated: int, path: str, params: dict[str, Any], needle: str
) -> None:
    response = client.get(path, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert needle in response.json()["detail"]


def test_entries_are_shown_only_to_their_subject(
    client: Client, citizen: Any, other_citizen: Any
) -> None:
    consent = grant(citizen, "provider-sharing")
    log.log_integrate()
    seq = LogEntry.objects.get(consent_id=consent.id).seq
    assert seq is not None
    assert client.get(f"/api/v1/log/entries/{seq}").status_code in (401, 403)
    client.force_login(other_citizen.user)
    assert client.get(f"/api/v1/log/entries/{seq}").status_code == 404
    client.force_login(citizen.user)
    body = client.get(f"/api/v1/log/entries/{seq}").json()
    assert body["entry"] == LogEntry.objects.get(leaf__seq=seq).entry
    assert merkle.verify_entry_inclusion(
        body["entry"].encode(),
        seq,
        body["tree_head"]["tree_size"],
        [b64d(h) for h in body["inclusion_proof"]],
        b64d(body["tree_head"]["sha256_root_hash"]),
    )


def test_entry_by_id_is_pending_until_integrated_then_proven(
    client: Client, citizen: Any, other_citizen: Any
) -> None:
    """A receipt cites its entry by id and leaf hash: the entry is found before and after."""
    from consents.models import Receipt

    consent = grant(citizen, "provider-sharing")
    receipt = Receipt.objects.get(consent=consent)
    url = f"/api/v1/log/entries/by-id/{receipt.log_entry_id}"
    assert client.get(url).status_code in (401, 403)
    client.force_login(other_citizen.user)
    assert client.get(url).status_code == 404
    client.force_login(citizen.user)
    pending = client.get(url).json()
    assert pending["status"] == "pending integration" and pending["seq"] is None
    assert "inclusion_proof" not in pending
    assert b64d(pending["leaf_hash"]) == merkle.leaf_hash(pending["entry"].encode())
    assert b64d(pending["leaf_hash"]) == bytes(receipt.log_entry.leaf_hash)
    log.log_integrate()
    body = client.get(url).json()
    assert body["status"] == "integrated" and body["entry"] == pending["entry"]
    assert merkle.verify_entry_inclusion(
        body["entry"].encode(),
        body["seq"],
        body["tree_head"]["tree_size"],
        [b64d(h) for h in body["inclusion_proof"]],
        b64d(body["tree_head"]["sha256_root_hash"]),
    )


def test_unknown_api_path_answers_problem_json(client: Client, db: Any) -> None:
    response = client.get("/api/v1/log/entries/-1")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not-found"
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")
