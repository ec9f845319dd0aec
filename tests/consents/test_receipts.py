"""Signed consent receipts: payload per schema, JWS that verifies online and offline only."""

import ast
import base64
import datetime as dt
import json
import subprocess
import sys
import uuid
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.jwk import OKPKey

import schemas
from consents import keys, receipts
from consents.models import Consent
from consents.receipts import ReceiptInvalid, receipt_payload, receipt_sign, receipt_verify

T0 = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
LEAF = bytes(range(32))

SCOPES = {
    "biobank": {
        "biobank": {"organisation": "1.2.246.10.1234567.10.1", "name": "Auria Biobank"},
        "samples": {"collect": True, "types": ["blood"], "existingSamples": False},
        "registerLinking": {"allowed": True, "sources": ["kanta"]},
        "dataCategories": ["samples", "register-data", "conditions"],
        "permission": {"code": "DS", "disease": "C50"},
        "modifiers": ["NPU", "IRB"],
        "recontact": False,
    },
    "needs-assessment": {
        "senders": [
            {"organisation": "1.2.246.10.2345678.10.0", "name": "Varha"},
            {"providerKind": "wellbeing-county"},
        ],
        "channels": ["dashboard", "sms"],
        "lifeAreas": ["health", "mobility"],
    },
    "provider-sharing": {
        "recipient": {"organisation": "1.2.246.10.3456789.10.0", "name": "Terveystalo"},
        "dataCategories": ["conditions", "medications"],
        "purpose": "care",
        "frequencyPerDay": 10,
    },
    "wellbeing-sharing": {
        "dataCategories": ["blood-pressure", "steps"],
        "sources": [{"application": "oura-demo", "name": "Demo ring app", "device": "ring"}],
        "targets": [
            {"type": "kanta-phr"},
            {"type": "provider", "recipient": {"organisation": "1.2.246.10.3456789.10.0"}},
        ],
    },
}


@pytest.fixture(autouse=True)
def key_dir(settings, tmp_path):
    settings.TAHTO_KEY_DIR = tmp_path / "keys"
    return settings.TAHTO_KEY_DIR


def make_consent(kind: str = "provider-sharing", **fields) -> Consent:
    values = {
        "id": uuid.uuid4(),
        "lineage": uuid.uuid4(),
        "version": 1,
        "kind": kind,
        "schema": f"consent-kinds/{kind}.v1",
        "subject_id": uuid.uuid4(),
        "provision": "permit",
        "scope": SCOPES[kind],
        "status": "active",
        "valid_from": T0,
        "valid_until": None,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    return Consent(**values)


def make_payload(consent: Consent | None = None, **overrides) -> dict:
    arguments: dict[str, Any] = {
        "consent": consent or make_consent(),
        "event_type": "consent.granted",
        "actor_id": uuid.uuid4(),
        "actor_role": "self",
        "log_entry_id": 7,
        "leaf_hash": LEAF,
        "issued_at": T0,
        "receipt_id": uuid.uuid4(),
    }
    arguments.update(overrides)
    return receipt_payload(**arguments)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def header_of(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[0]))


def with_header(token: str, header: dict, signature: str | None = None) -> str:
    _, payload, old_signature = token.split(".")
    encoded = b64url(json.dumps(header).encode())
    return f"{encoded}.{payload}.{old_signature if signature is None else signature}"


# --------------------------------------------------------------------------- payload


@pytest.mark.parametrize("kind", sorted(SCOPES))
@pytest.mark.parametrize("role", ["self", "guardian", "mandate"])
def test_payload_of_every_kind_follows_the_receipt_schema(kind, role):
    schemas.validate(f"consent-kinds/{kind}.v1", SCOPES[kind])  # the fixtures are realistic

    payload = make_payload(make_consent(kind), actor_role=role)

    schemas.validate("receipt.v2", payload)


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_payload_in_each_language_follows_the_receipt_schema(language):
    consent = make_consent(valid_until=T0 + dt.timedelta(days=365), notice_id="ab" * 32)

    payload = make_payload(consent, language=language)

    schemas.validate("receipt.v2", payload)
    assert payload["language"] == language


def test_payload_carries_the_consent_the_actor_and_the_log_position():
    consent = make_consent(valid_until=T0 + dt.timedelta(days=30), notice_id="cd" * 32)
    actor, receipt_id = uuid.uuid4(), uuid.uuid4()

    payload = make_payload(
        consent, actor_id=actor, actor_role="guardian", receipt_id=receipt_id, log_entry_id=41
    )

    assert payload["version"] == "tahto-receipt/2"
    assert payload["jurisdiction"] == "FI"
    assert payload["consentTimestamp"] == int(T0.timestamp())
    assert payload["consentReceiptID"] == str(receipt_id)
    assert payload["piiPrincipalId"] == str(consent.subject_id)
    assert payload["policyUrl"].endswith("/policy")
    assert payload["sensitive"] is True
    assert payload["spiCat"] == ["health"]
    assert payload["event"] == "consent.granted"
    assert payload["collectionMethod"] == "dashboard-on-behalf"
    assert payload["actor"] == {"id": str(actor), "role": "guardian"}
    assert payload["noticeSha256"] == "cd" * 32
    assert payload["log"] == {"entry": 41, "leafHash": base64.b64encode(LEAF).decode()}
    assert payload["consent"] == {
        "id": str(consent.id),
        "lineage": str(consent.lineage),
        "version": 1,
        "kind": "provider-sharing",
        "status": "active",
        "provision": "permit",
        "scope": SCOPES["provider-sharing"],
        "scopeSchema": "consent-kinds/provider-sharing.v1",
        "validFrom": "2025-03-01T09:30:00Z",
        "validUntil": "2025-03-31T09:30:00Z",
    }


def test_open_ended_consent_without_notice_leaves_those_fields_out():
    payload = make_payload(make_consent(valid_until=None, notice=None))

    assert "validUntil" not in payload["consent"]
    assert "noticeSha256" not in payload


def test_controllers_are_the_operator_and_the_organisations_the_scope_names(settings):
    payload = make_payload(make_consent("needs-assessment"))

    assert payload["piiControllers"] == [
        {"name": settings.TAHTO_OPERATOR_NAME, "organisationId": settings.TAHTO_OPERATOR_ID},
        {"name": "Varha", "organisationId": "1.2.246.10.2345678.10.0"},
    ]


def test_approving_a_provider_request_is_recorded_as_such():
    payload = make_payload(event_type="consent.approved")

    assert payload["collectionMethod"] == "provider-request-approved"


def test_purpose_names_its_category_and_data_categories():
    [service] = make_payload(make_consent("provider-sharing"), language="en")["services"]

    [purpose] = service["purposes"]
    assert purpose["purposeCategory"] == ["care"]
    assert purpose["piiCategory"] == ["conditions", "medications"]
    assert purpose["consentType"] == "EXPLICIT"
    assert purpose["primaryPurpose"] is True
    assert purpose["thirdPartyName"] == "Terveystalo"
    assert "Withdraw at any time in the Tahto dashboard" in purpose["termination"]


def test_needs_assessment_discloses_nothing_to_the_senders():
    [service] = make_payload(make_consent("needs-assessment"))["services"]

    assert [p["thirdPartyDisclosure"] for p in service["purposes"]] == [False]


@pytest.mark.parametrize(
    ("field", "value"), [("actor_role", "provider"), ("language", "de"), ("leaf_hash", b"x")]
)
def test_payload_refuses_bad_arguments(field, value):
    with pytest.raises(ValueError, match=field.split("_")[0]):
        make_payload(**{field: value})


# --------------------------------------------------------------------------- sign and verify


def test_receipt_verifies_with_the_published_jwks():
    payload = make_payload()

    token = receipt_sign(payload)

    assert receipt_verify(token, keys.public_jwks()) == payload
    assert header_of(token) == {
        "alg": "Ed25519",
        "kid": keys.signing_key().kid,
        "typ": "tahto-receipt+jwt",
    }


def test_signed_payload_is_rfc8785_canonical_json():
    payload = make_payload()

    token = receipt_sign(payload)

    assert b64url_decode(token.split(".")[1]) == rfc8785.dumps(payload)


def test_receipt_still_verifies_after_key_rotation():
    token = receipt_sign(make_payload())

    keys.rotate()

    assert receipt_verify(token, keys.public_jwks())["version"] == "tahto-receipt/2"


def test_receipt_of_version_1_citing_a_leaf_index_still_verifies():
    """Receipts issued before entries were integrated after commit cite the leaf index."""
    payload = make_payload()
    payload["version"] = "tahto-receipt/1"
    payload["log"] = {"seq": 7, "leafHash": payload["log"]["leafHash"]}
    schemas.validate("receipt.v1", payload)
    token = receipt_sign(payload)

    assert receipt_verify(token, keys.public_jwks())["log"]["seq"] == 7


def test_receipt_of_an_unknown_version_is_refused():
    payload = make_payload()
    payload["version"] = "tahto-receipt/3"

    with pytest.raises(ReceiptInvalid, match="not a receipt of tahto-receipt/1 or"):
        receipt_verify(receipt_sign(payload), keys.public_jwks())


@pytest.mark.parametrize("position", [0, 17, -1])
def test_changed_payload_byte_fails(position):
    token = receipt_sign(make_payload())
    header, payload, signature = token.split(".")
    raw = bytearray(b64url_decode(payload))
    raw[position] ^= 0x01
    tampered = f"{header}.{b64url(bytes(raw))}.{signature}"

    with pytest.raises(ReceiptInvalid, match=r"bad signature|malformed"):
        receipt_verify(tampered, keys.public_jwks())


def test_changed_field_fails_with_bad_signature():
    token = receipt_sign(make_payload())
    header, payload, signature = token.split(".")
    body = b64url_decode(payload).replace(b'"permit"', b'"deny"')
    tampered = f"{header}.{b64url(body)}.{signature}"

    with pytest.raises(ReceiptInvalid, match="bad signature"):
        receipt_verify(tampered, keys.public_jwks())


def test_signature_by_a_different_key_under_our_kid_fails():
    ours = keys.signing_key()
    forged = jws.serialize_compact(
        {"alg": "Ed25519", "kid": ours.kid, "typ": "tahto-receipt+jwt"},
        rfc8785.dumps(make_payload()),
        OKPKey.import_key(Ed25519PrivateKey.generate()),
        algorithms=["Ed25519"],
    )

    with pytest.raises(ReceiptInvalid, match="bad signature"):
        receipt_verify(forged, keys.public_jwks())


def test_unknown_kid_fails():
    token = receipt_sign(make_payload())
    header = {**header_of(token), "kid": "not-a-published-key"}

    with pytest.raises(ReceiptInvalid, match="unknown kid"):
        receipt_verify(with_header(token, header), keys.public_jwks())


def test_key_missing_from_another_operators_jwks_fails(settings, tmp_path):
    token = receipt_sign(make_payload())
    settings.TAHTO_KEY_DIR = tmp_path / "other-operator"

    with pytest.raises(ReceiptInvalid, match="unknown kid"):
        receipt_verify(token, keys.public_jwks())


@pytest.mark.parametrize("signature", ["", None])
def test_alg_none_fails(signature):
    token = receipt_sign(make_payload())
    header = {**header_of(token), "alg": "none"}

    with pytest.raises(ReceiptInvalid, match="wrong alg 'none'"):
        receipt_verify(with_header(token, header, signature), keys.public_jwks())


@pytest.mark.parametrize("alg", ["HS256", "EdDSA", "ES256", None])
def test_other_algs_fail(alg):
    token = receipt_sign(make_payload())
    header = {**header_of(token), "alg": alg}

    with pytest.raises(ReceiptInvalid, match="wrong alg"):
        receipt_verify(with_header(token, header), keys.public_jwks())


def test_a_token_of_another_type_fails():
    token = receipt_sign(make_payload())
    header = {**header_of(token), "typ": "JWT"}

    with pytest.raises(ReceiptInvalid, match="not a Tahto receipt"):
        receipt_verify(with_header(token, header), keys.public_jwks())


def test_a_jwks_entry_whose_kid_is_not_its_thumbprint_fails():
    token = receipt_sign(make_payload())
    impostor = keys.public_jwk(Ed25519PrivateKey.generate().public_key())
    impostor["kid"] = header_of(token)["kid"]

    with pytest.raises(ReceiptInvalid, match="thumbprint"):
        receipt_verify(token, {"keys": [impostor]})


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b", "a.b.c.d", "!!!.e30.AA", "e30.e30.AA", 42, "W10.e30.AA"]
)
def test_garbage_is_malformed(token):
    with pytest.raises(ReceiptInvalid):
        receipt_verify(token, keys.public_jwks())


def test_receipt_invalid_is_a_value_error():
    assert issubclass(ReceiptInvalid, ValueError)


# --------------------------------------------------------------------------- offline recipe


def run_offline_verifier(tmp_path, token: str, jwks: dict) -> subprocess.CompletedProcess:
    script = tmp_path / "verify_receipt.py"
    script.write_text(receipts.OFFLINE_VERIFIER)
    (tmp_path / "receipt.jws").write_text(token)
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    # -I: isolated, nothing of this project on the path. The command is fixed, not input.
    return subprocess.run(  # noqa: S603
        [sys.executable, "-I", str(script), "receipt.jws", "jwks.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_offline_recipe_verifies_a_receipt_without_our_code(tmp_path):
    payload = make_payload()
    token = receipt_sign(payload)

    result = run_offline_verifier(tmp_path, token, keys.public_jwks())

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == payload


@pytest.mark.parametrize("tamper", ["payload", "kid", "alg-none"])
def test_offline_recipe_refuses_a_tampered_receipt(tmp_path, tamper):
    token = receipt_sign(make_payload())
    header, payload, signature = token.split(".")
    if tamper == "payload":
        body = b64url_decode(payload).replace(b'"permit"', b'"deny"')
        token = f"{header}.{b64url(body)}.{signature}"
    elif tamper == "kid":
        token = with_header(token, {**header_of(token), "kid": "unknown"})
    else:
        token = with_header(token, {**header_of(token), "alg": "none"}, "")

    result = run_offline_verifier(tmp_path, token, keys.public_jwks())

    assert result.returncode == 1
    assert "NOT VALID" in result.stderr


def test_offline_recipe_imports_only_the_standard_library_and_cryptography():
    tree = ast.parse(receipts.OFFLINE_VERIFIER)
    modules = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    modules |= {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }

    assert {m.split(".")[0] for m in modules} <= {"base64", "json", "sys", "cryptography"}
