"""C2SP signed notes, checkpoints and cosignatures, table-tested against the Go reference.

The PeterNeumann key and note come from golang.org/x/mod/sumdb/note (note_test.go), the
reference implementation of c2sp.org/signed-note: Ed25519 is deterministic, so our signer must
reproduce that note byte for byte and our verifier must accept it.
"""

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consents import checkpoint as cp

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
GO_NOTE = GO_TEXT + "\n\u2014 PeterNeumann " + GO_SIG + "\n"


def go_private_key() -> Ed25519PrivateKey:
    blob = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert blob[0] == cp.SIG_ED25519
    return Ed25519PrivateKey.from_private_bytes(blob[1:])


def test_go_reference_key_gives_the_same_vkey_and_key_id() -> None:
    key = go_private_key()
    assert cp.vkey("PeterNeumann", key.public_key()) == GO_VKEY
    verifier = cp.parse_vkey(GO_VKEY)
    assert verifier.key_id.hex() == "c74f20a3"
    # The rule written out independently: SHA-256(name || 0x0A || 0x01 || key)[:4].
    raw = cp.public_raw(key.public_key())
    assert hashlib.sha256(b"PeterNeumann\n\x01" + raw).digest()[:4] == verifier.key_id


def test_go_reference_note_is_reproduced_byte_for_byte_and_verifies() -> None:
    sig = cp.sign_note(GO_TEXT, "PeterNeumann", go_private_key())
    assert cp.format_note(GO_TEXT, [sig]) == GO_NOTE
    note = cp.parse_note(GO_NOTE)
    assert note.text == GO_TEXT
    assert cp.verify_note_signature(note.text, note.signatures[0], cp.parse_vkey(GO_VKEY))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.replace("cryptography", "cryptographY"),  # text changed
        lambda n: n.replace("x08go", "x08gp"),  # key id changed: not this key
        lambda n: n.replace("AM=", "AA="),  # signature changed
        lambda n: n.replace("PeterNeumann x", "PeterNeuman x"),  # other name
    ],
)
def test_changed_note_does_not_verify(mangle: object) -> None:
    note = cp.parse_note(mangle(GO_NOTE))  # type: ignore[operator]
    assert not cp.verify_note_signature(note.text, note.signatures[0], cp.parse_vkey(GO_VKEY))


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (GO_TEXT, "no blank line"),
        (GO_TEXT + "\n", "no signature lines"),
        (GO_TEXT + "\n- PeterNeumann " + GO_SIG + "\n", "em dash"),
        (GO_TEXT + "\n\u2014 PeterNeumann\n", "is not"),
        (GO_TEXT + "\n\u2014 PeterNeumann %%%\n", "not standard base64"),
        (GO_TEXT + "\n\u2014 Peter+Neumann " + GO_SIG + "\n", "must not contain spaces or"),
        (GO_TEXT + "\n\u2014 PeterNeumann " + GO_SIG, "end with a newline"),
        ("a\tb\n\n\u2014 PeterNeumann " + GO_SIG + "\n", "control character 0x09"),
        (b"\xff\n\n", "not UTF-8"),
    ],
)
def test_malformed_notes_are_refused_saying_why(note: str | bytes, message: str) -> None:
    with pytest.raises(cp.CheckpointError, match=message):
        cp.parse_note(note)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PeterNeumann+c74f20a3", "not of the form"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase hex"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10", "base64"),
        ("PeterNeumann+c74f20a3+AhpjZHIK", "32 bytes"),
    ],
)
def test_malformed_vkeys_are_refused(text: str, message: str) -> None:
    with pytest.raises(cp.CheckpointError, match=message):
        cp.parse_vkey(text)


def test_vkey_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(cp.CheckpointError, match="expected 0x04"):
        cp.parse_vkey(GO_VKEY, sig_type=cp.SIG_COSIGNATURE_V1)


ROOT = bytes(range(32))


def test_checkpoint_text_is_origin_size_and_base64_root() -> None:
    text = cp.checkpoint_text(cp.Checkpoint("example.com/log", 20852163, ROOT))
    assert text == "example.com/log\n20852163\n" + base64.b64encode(ROOT).decode() + "\n"
    assert cp.parse_checkpoint(text) == cp.Checkpoint("example.com/log", 20852163, ROOT)


def test_spec_example_checkpoint_parses() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    parsed = cp.parse_checkpoint(text)
    assert (parsed.origin, parsed.size) == ("example.com/behind-the-sofa", 20852163)
    assert cp.checkpoint_text(parsed) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("o\n5\n", "at least three lines"),
        ("\n5\n" + base64.b64encode(ROOT).decode() + "\n", "origin is empty"),
        ("o\n05\n" + base64.b64encode(ROOT).decode() + "\n", "leading zeros"),
        ("o\n-5\n" + base64.b64encode(ROOT).decode() + "\n", "not a decimal"),
        ("o\n5\n" + base64.b64encode(ROOT[:31]).decode() + "\n", "31 bytes, not 32"),
        ("o\n5\n!!\n", "not standard base64"),
        ("o\n" + str(2**64) + "\n" + base64.b64encode(ROOT).decode() + "\n", "64 bits"),
    ],
)
def test_malformed_checkpoints_are_refused(text: str, message: str) -> None:
    with pytest.raises(cp.CheckpointError, match=message):
        cp.parse_checkpoint(text)


def test_cosignature_follows_tlog_cosignature_v1() -> None:
    witness = Ed25519PrivateKey.from_private_bytes(bytes(32))
    text = cp.checkpoint_text(cp.Checkpoint("example.com/log", 7, ROOT))
    sig = cp.cosign(text, "witness.example/w1", witness, 1679315147)
    raw = cp.public_raw(witness.public_key())
    # Written out from the spec, independently of the module's helpers.
    assert sig.key_id == hashlib.sha256(b"witness.example/w1\n\x04" + raw).digest()[:4]
    assert sig.signature[:8] == struct.pack(">Q", 1679315147)
    message = b"cosignature/v1\ntime 1679315147\n" + text.encode()
    witness.public_key().verify(sig.signature[8:], message)  # raises if wrong
    verifier = cp.parse_vkey(cp.vkey("witness.example/w1", witness.public_key(), 0x04))
    assert cp.verify_cosignature(text, sig, verifier) == 1679315147


def test_cosignature_of_another_checkpoint_or_by_another_key_does_not_verify() -> None:
    witness = Ed25519PrivateKey.generate()
    text = cp.checkpoint_text(cp.Checkpoint("example.com/log", 7, ROOT))
    other = cp.checkpoint_text(cp.Checkpoint("example.com/log", 8, ROOT))
    sig = cp.cosign(text, "w", witness, 5)
    verifier = cp.Verifier("w", cp.SIG_COSIGNATURE_V1, witness.public_key())
    assert cp.verify_cosignature(other, sig, verifier) is None
    stranger = cp.Verifier("w", cp.SIG_COSIGNATURE_V1, Ed25519PrivateKey.generate().public_key())
    assert cp.verify_cosignature(text, sig, stranger) is None
    # An operator's note signature is never taken for a cosignature, nor the other way round.
    as_note_key = cp.Verifier("w", cp.SIG_ED25519, witness.public_key())
    assert cp.verify_cosignature(text, sig, as_note_key) is None
    assert not cp.verify_note_signature(text, sig, as_note_key)


def test_note_with_operator_signature_and_cosignature_round_trips() -> None:
    log_key, witness = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    text = cp.checkpoint_text(cp.Checkpoint("tahto.example/log", 3, ROOT))
    note = cp.format_note(
        text, [cp.sign_note(text, "tahto.example/log", log_key), cp.cosign(text, "w1", witness, 9)]
    )
    parsed = cp.parse_note(note)
    assert parsed.text == text and len(parsed.signatures) == 2
    log_verifier = cp.Verifier("tahto.example/log", cp.SIG_ED25519, log_key.public_key())
    assert cp.verify_note_signature(text, parsed.signatures[0], log_verifier)
    assert not cp.verify_note_signature(text, parsed.signatures[1], log_verifier)
