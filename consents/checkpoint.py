"""Checkpoints of the consent log as C2SP signed notes, and witness cosignatures.

Standard library and ``cryptography`` only, no Django. Implements, exactly as specified:

* c2sp.org/signed-note: a text ending in a newline, a blank line, then signature lines
  ``— <key name> base64(4-byte key ID || signature)``. An Ed25519 key (signature type 0x01)
  has the key ID ``SHA-256(name || 0x0A || 0x01 || public key)[:4]`` and signs the note text.
  Verifier keys (vkeys) are ``<name>+<hex key ID>+base64(type || public key)``.
* c2sp.org/tlog-checkpoint: the note text is the origin line, the tree size in decimal, the
  root hash in standard base64, then optional extension lines.
* c2sp.org/tlog-cosignature (Ed25519, type 0x04): the key ID is
  ``SHA-256(name || 0x0A || 0x04 || public key)[:4]``; the signature is
  ``uint64 timestamp (big-endian, POSIX seconds) || Ed25519 signature`` over
  ``"cosignature/v1\\ntime <timestamp>\\n" + the whole checkpoint text``.

Every parser raises ``CheckpointError`` saying what is wrong and where; every verifier returns
a plain answer and never raises on malformed input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "SIG_COSIGNATURE_V1",
    "SIG_ED25519",
    "Checkpoint",
    "CheckpointError",
    "NoteSignature",
    "SignedNote",
    "Verifier",
    "checkpoint_text",
    "cosign",
    "cosignature_message",
    "format_note",
    "key_id",
    "parse_checkpoint",
    "parse_note",
    "parse_vkey",
    "public_raw",
    "sign_note",
    "verify_cosignature",
    "verify_note_signature",
    "vkey",
]

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
EM_DASH = "\u2014"
MAX_SIGNATURES = 100  # the spec asks to accept at least 16
MAX_NOTE_BYTES = 1 << 16
_UINT63_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1


class CheckpointError(ValueError):
    """A note, checkpoint, key or signature is malformed; the message says what and where."""


def public_raw(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key (RFC 8032 encoding)."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise CheckpointError("a key name must be a non-empty string")
    if any(c.isspace() or c == "+" for c in name):
        raise CheckpointError(f"key name {name!r} must not contain spaces or '+'")
    if any(ord(c) < 0x20 for c in name):
        raise CheckpointError(f"key name {name!r} must not contain control characters")
    return name


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4], the signed-note key ID."""
    _check_name(name)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()[
        :4
    ]


@dataclass(frozen=True)
class Verifier:
    """A verifier key: who signs (name), how (type) and with which Ed25519 public key."""

    name: str
    sig_type: int
    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, public_raw(self.public_key))

    def vkey(self) -> str:
        return vkey(self.name, self.public_key, self.sig_type)


def vkey(name: str, public_key: Ed25519PublicKey, sig_type: int = SIG_ED25519) -> str:
    """The verifier key text ``<name>+<hex key ID>+base64(type || public key)``."""
    raw = public_raw(public_key)
    kid = key_id(name, sig_type, raw).hex()
    return f"{name}+{kid}+{base64.b64encode(bytes([sig_type]) + raw).decode('ascii')}"


def parse_vkey(text: str, *, sig_type: int | None = None) -> Verifier:
    """Parse a verifier key; with ``sig_type``, insist on that signature type."""
    if not isinstance(text, str):
        raise CheckpointError("a verifier key must be text")
    text = text.strip()
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError(
            f"verifier key {text!r} is not of the form <name>+<hex key id>+<base64 key>"
        )
    name, kid_hex, b64 = parts
    _check_name(name)
    if len(kid_hex) != 8 or any(c not in "0123456789abcdef" for c in kid_hex):
        raise CheckpointError(f"verifier key {text!r}: the key id must be 8 lowercase hex digits")
    try:
        blob = base64.b64decode(b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CheckpointError(f"verifier key {text!r}: the key is not standard base64") from None
    if len(blob) != 33 or blob[0] not in (SIG_ED25519, SIG_COSIGNATURE_V1):
        raise CheckpointError(
            f"verifier key {text!r}: expected an Ed25519 key (type 0x01) or an Ed25519 "
            "cosignature key (type 0x04) of 32 bytes"
        )
    if sig_type is not None and blob[0] != sig_type:
        raise CheckpointError(
            f"verifier key {text!r} has signature type 0x{blob[0]:02x}, expected 0x{sig_type:02x}"
        )
    if key_id(name, blob[0], blob[1:]).hex() != kid_hex:
        raise CheckpointError(f"verifier key {text!r}: the key id does not match the key")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(blob[1:])
    except ValueError as exc:
        raise CheckpointError(f"verifier key {text!r}: not an Ed25519 key ({exc})") from None
    return Verifier(name, blob[0], public_key)


# --------------------------------------------------------------------------- signed notes


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key ID, and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{EM_DASH} {self.name} {blob}\n"


@dataclass(frozen=True)
class SignedNote:
    text: str
    signatures: tuple[NoteSignature, ...]


def _check_text(text: str, what: str) -> None:
    if not text.endswith("\n"):
        raise CheckpointError(f"{what} must end with a newline")
    for lineno, line in enumerate(text.split("\n"), start=1):
        bad = [c for c in line if ord(c) < 0x20]
        if bad:
            raise CheckpointError(
                f"{what}, line {lineno}: control character 0x{ord(bad[0]):02x} is not allowed"
            )


def parse_note(data: str | bytes) -> SignedNote:
    """Split a signed note into its text and signature lines (nothing is verified here)."""
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise CheckpointError(f"the note is larger than {MAX_NOTE_BYTES} bytes")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError(f"the note is not UTF-8: {exc}") from None
    if len(data.encode("utf-8")) > MAX_NOTE_BYTES:
        raise CheckpointError(f"the note is larger than {MAX_NOTE_BYTES} bytes")
    _check_text(data, "the note")
    split = data.rfind("\n\n")
    if split < 0:
        raise CheckpointError("the note has no blank line between its text and its signatures")
    text, sig_block = data[: split + 1], data[split + 2 :]
    if not sig_block:
        raise CheckpointError("the note has no signature lines after the blank line")
    signatures = []
    lines = sig_block.split("\n")[:-1]
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"the note has more than {MAX_SIGNATURES} signatures")
    for i, line in enumerate(lines, start=1):
        where = f"signature line {i}"
        if not line.startswith(EM_DASH + " "):
            raise CheckpointError(f"{where} does not start with an em dash and a space")
        fields = line[2:].split(" ")
        if len(fields) != 2 or not fields[0] or not fields[1]:
            raise CheckpointError(f"{where} is not '{EM_DASH} <key name> <base64 signature>'")
        name, b64 = fields
        try:
            _check_name(name)
        except CheckpointError as exc:
            raise CheckpointError(f"{where}: {exc}") from None
        try:
            blob = base64.b64decode(b64.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise CheckpointError(f"{where}: the signature is not standard base64") from None
        if len(blob) < 5:
            raise CheckpointError(f"{where}: the signature is too short for a key id")
        signatures.append(NoteSignature(name, blob[:4], blob[4:]))
    return SignedNote(text, tuple(signatures))


def format_note(text: str, signatures: list[NoteSignature] | tuple[NoteSignature, ...]) -> str:
    """The note text, a blank line and one line per signature."""
    _check_text(text, "the note text")
    if not signatures:
        raise CheckpointError("a signed note needs at least one signature")
    return text + "\n" + "".join(s.line() for s in signatures)


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> NoteSignature:
    """An Ed25519 (type 0x01) signature of the note text."""
    _check_text(text, "the note text")
    kid = key_id(name, SIG_ED25519, public_raw(private_key.public_key()))
    return NoteSignature(name, kid, private_key.sign(text.encode("utf-8")))


def _matches(sig: NoteSignature, verifier: Verifier) -> bool:
    return sig.name == verifier.name and sig.key_id == verifier.key_id


def verify_note_signature(text: str, sig: NoteSignature, verifier: Verifier) -> bool:
    """Whether ``sig`` is ``verifier``'s valid Ed25519 note signature of ``text``."""
    if verifier.sig_type != SIG_ED25519 or not _matches(sig, verifier):
        return False
    if len(sig.signature) != 64:
        return False
    try:
        verifier.public_key.verify(sig.signature, text.encode("utf-8"))
    except InvalidSignature:
        return False
    return True


# --------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def checkpoint_text(checkpoint: Checkpoint) -> str:
    """The checkpoint's note text: origin, size, base64 root hash, extension lines."""
    if not checkpoint.origin or "\n" in checkpoint.origin:
        raise CheckpointError("the origin must be one non-empty line")
    if not 0 <= checkpoint.size <= _UINT64_MAX:
        raise CheckpointError(f"tree size {checkpoint.size} is out of range")
    if len(checkpoint.root_hash) != 32:
        raise CheckpointError("the root hash must be 32 bytes")
    lines = [
        checkpoint.origin,
        str(checkpoint.size),
        base64.b64encode(checkpoint.root_hash).decode("ascii"),
        *checkpoint.extensions,
    ]
    text = "\n".join(lines) + "\n"
    _check_text(text, "the checkpoint")
    return text


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint's note text (the part before the blank line)."""
    _check_text(text, "the checkpoint")
    lines = text.split("\n")[:-1]
    if len(lines) < 3:
        raise CheckpointError("a checkpoint needs at least three lines: origin, size, root hash")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise CheckpointError("checkpoint line 1: the origin is empty")
    decimal = size_text.isascii() and size_text.isdigit()
    if not decimal or (size_text != "0" and size_text[0] == "0"):
        raise CheckpointError(
            f"checkpoint line 2: the tree size {size_text!r} is not a decimal number "
            "without leading zeros"
        )
    size = int(size_text)
    if size > _UINT64_MAX:
        raise CheckpointError("checkpoint line 2: the tree size does not fit in 64 bits")
    try:
        root = base64.b64decode(root_text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CheckpointError("checkpoint line 3: the root hash is not standard base64") from None
    if len(root) != 32:
        raise CheckpointError(f"checkpoint line 3: the root hash is {len(root)} bytes, not 32")
    for i, ext in enumerate(extensions, start=4):
        if not ext:
            raise CheckpointError(f"checkpoint line {i}: extension lines must not be empty")
    return Checkpoint(origin, size, root, tuple(extensions))


# --------------------------------------------------------------------------- cosignatures


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header, time line, the whole checkpoint text."""
    if not 0 <= timestamp <= _UINT63_MAX:
        raise CheckpointError(f"cosignature timestamp {timestamp} is out of range")
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(text: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> NoteSignature:
    """A witness's cosignature/v1 (type 0x04) of a checkpoint text at ``timestamp`` (seconds)."""
    parse_checkpoint(text)
    kid = key_id(name, SIG_COSIGNATURE_V1, public_raw(private_key.public_key()))
    signature = private_key.sign(cosignature_message(text, timestamp))
    return NoteSignature(name, kid, struct.pack(">Q", timestamp) + signature)


def verify_cosignature(text: str, sig: NoteSignature, verifier: Verifier) -> int | None:
    """The cosignature's timestamp if it is ``verifier``'s valid cosignature of ``text``."""
    if verifier.sig_type != SIG_COSIGNATURE_V1 or not _matches(sig, verifier):
        return None
    if len(sig.signature) != 8 + 64:
        return None
    (timestamp,) = struct.unpack(">Q", sig.signature[:8])
    if timestamp > _UINT63_MAX:
        return None
    try:
        verifier.public_key.verify(sig.signature[8:], cosignature_message(text, timestamp))
    except InvalidSignature:
        return None
    return timestamp
