#!/usr/bin/env python3
"""Verify Tahto's consent log without Tahto: one file, Python 3.11+ and ``cryptography``.

Checks what the operator publishes and exports, trusting nothing but the operator's public
key (its JWKS):

    python -I tahto_verify.py tree-head --jwks JWKS.json HEAD.json
    python -I tahto_verify.py inclusion --head HEAD.json --jwks JWKS.json ENTRIES.jsonl
    python -I tahto_verify.py inclusion --complete --head HEAD.json --jwks JWKS.json ALL.jsonl
    python -I tahto_verify.py consistency --jwks JWKS.json OLD.json NEW.json PROOF.json
    python -I tahto_verify.py witness-key --name NAME --key WITNESS.pem
    python -I tahto_verify.py witness --log URL --log-key VKEY --name NAME --key WITNESS.pem \
        --state STATE.note

* HEAD.json: a signed tree head (RFC 6962 §3.5 TreeHeadSignature, Ed25519): ``tree_size``,
  ``timestamp`` (ms), ``sha256_root_hash`` and ``tree_head_signature`` (standard base64),
  ``key_id`` (the ``kid`` of the signing key in the JWKS).
* ENTRIES.jsonl: one JSON object per line, in log order: ``seq``, ``entry`` (the canonical
  JSON text that was hashed), ``inclusion_proof`` (base64 hashes). Lines exported by Tahto
  also carry ``prev`` (the seq of the previous exported line, null on the first) and
  ``last`` (true on the final line); when they are present, a line missing from the middle,
  the start or the end of the file is reported too. A CSV export (``.csv``, with the columns
  ``seq``, ``entry`` and ``inclusion_proof`` as space-separated base64) is read as well,
  separated by commas or (as spreadsheets in Finland and Sweden expect) by semicolons, with
  or without a byte order mark.
* PROOF.json: ``{"first": m, "second": n, "proof": [base64, ...]}`` (Tahto's API names the
  list ``consistency_proof``; both names are accepted).

The Merkle tree algorithms are those of RFC 9162 §2.1 (leaf = SHA-256(0x00 || entry),
node = SHA-256(0x01 || left || right)), written out here so that this file can be read and
audited on its own. It gives the same verdicts as ``python -m consents.verify``.

Witness (a regulator runs it on their own machine, keeping its key and state there):
``witness-key`` makes the witness's Ed25519 key (PKCS#8 PEM, mode 0600) and prints its verifier
key (c2sp.org/signed-note vkey of type 0x04), which the operator registers. ``witness`` fetches
the log's newest checkpoint (c2sp.org/tlog-checkpoint), checks the log's signature with the
log's verifier key, checks a consistency proof from the checkpoint it cosigned last, cosigns
(c2sp.org/tlog-cosignature/v1), keeps that cosigned checkpoint as its state and sends the
cosignature to the log. It refuses a checkpoint that is smaller, of another history (a fork),
badly signed or malformed, and says why. Its state file is its own last cosigned checkpoint and
is checked against its own key on every start: a changed state file is an error.

Exit status: 0 verified (or cosigned); 1 verification failed or refused (says at which entry, or
why); 2 bad input (including a tampered witness state file).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import hashlib
import json
import os
import struct
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
        load_pem_private_key,
    )
except ImportError:  # pragma: no cover - the one dependency
    sys.stderr.write(
        "error: this verifier needs the 'cryptography' package (pip install cryptography)\n"
    )
    sys.exit(2)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
UINT64_MAX = 2**64 - 1


class BadInput(Exception):
    """An input file is missing, unreadable or malformed (exit status 2)."""


class Failed(Exception):
    """Something did not verify (exit status 1)."""


# --------------------------------------------------------------------------- RFC 9162 §2.1


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: is leaf hash ``leaf`` at ``index`` of the tree (size, root)?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    m: int, n: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (m, old_root) a prefix of the tree (n, new_root)?"""
    if not 0 <= m <= n:
        return False
    path = list(proof)
    if m == n:
        return not path and old_root == new_root
    if m == 0:
        return not path
    if not path:
        return False
    if m & (m - 1) == 0:
        path.insert(0, old_root)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --------------------------------------------------------------------------- tree heads, keys


@dataclass(frozen=True)
class Head:
    tree_size: int
    timestamp: int
    root: bytes
    signature: bytes
    key_id: str

    def message(self) -> bytes:
        """The RFC 6962 TreeHeadSignature: v1, tree_hash, timestamp, tree_size, root."""
        return struct.pack(">BBQQ32s", 0, 1, self.timestamp, self.tree_size, self.root)


def _uint(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= UINT64_MAX


def _b64(value: Any, where: str, size: int) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a base64 string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError(f"{where} is not valid standard base64") from None
    if len(raw) != size:
        raise ValueError(f"{where} must decode to {size} bytes, got {len(raw)}")
    return raw


def read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not valid JSON: {exc}") from None


def load_head(path: str) -> Head:
    d = read_json(path)
    try:
        if not isinstance(d, dict):
            raise ValueError("a tree head must be a JSON object")
        missing = [
            k
            for k in ("tree_size", "timestamp", "sha256_root_hash", "tree_head_signature", "key_id")
            if k not in d
        ]
        if missing:
            raise ValueError(f"tree head is missing {', '.join(missing)}")
        for name in ("tree_size", "timestamp"):
            if not _uint(d[name]):
                raise ValueError(f"{name} must be an integer in 0..2**64-1")
        if not isinstance(d["key_id"], str) or not d["key_id"]:
            raise ValueError("key_id must be a non-empty string")
        return Head(
            d["tree_size"],
            d["timestamp"],
            _b64(d["sha256_root_hash"], "sha256_root_hash", 32),
            _b64(d["tree_head_signature"], "tree_head_signature", 64),
            d["key_id"],
        )
    except ValueError as exc:
        raise BadInput(f"{path}: not a valid tree head: {exc}") from None


def load_jwks(path: str) -> list[dict[str, Any]]:
    jwks = read_json(path)
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise BadInput(f'{path}: not a JWKS: expected an object with a "keys" list')
    for i, key in enumerate(jwks["keys"]):
        if not isinstance(key, dict):
            raise BadInput(f"{path}: keys[{i}] is not a JSON object")
    return jwks["keys"]


def public_key(keys: Sequence[dict[str, Any]], kid: str, path: str) -> Ed25519PublicKey:
    matches = [(i, k) for i, k in enumerate(keys) if k.get("kid") == kid]
    if not matches:
        raise Failed(f"no key with kid {kid!r} in {path}")
    if len(matches) > 1:
        raise BadInput(f"{path}: {len(matches)} keys have kid {kid!r}")
    i, jwk = matches[0]
    where = f"{path}: keys[{i}] (kid {kid!r})"
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise BadInput(f"{where}: not an Ed25519 key (kty OKP, crv Ed25519)")
    if "d" in jwk:
        raise BadInput(f"{where}: JWK contains a private key ('d'); publish only public keys")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise BadInput(f"{where}: JWK x must be a base64url string")
    try:
        raw = base64.urlsafe_b64decode(x.encode("ascii") + b"=" * (-len(x) % 4))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise BadInput(f"{where}: JWK x is not valid base64url") from None
    if len(raw) != 32 or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != x.rstrip("="):
        raise BadInput(f"{where}: JWK x must be 32 bytes of base64url")
    return Ed25519PublicKey.from_public_bytes(raw)


def check_head(head: Head, keys: Sequence[dict[str, Any]], jwks_path: str, name: str) -> None:
    key = public_key(keys, head.key_id, jwks_path)
    try:
        key.verify(head.signature, head.message())
    except InvalidSignature:
        raise Failed(
            f"{name}: the signature of the tree head of size {head.tree_size} "
            f"does not verify with key {head.key_id!r}"
        ) from None
    if head.tree_size == 0 and head.root != EMPTY_ROOT:
        raise Failed(f"{name}: a tree of size 0 must have the empty root hash")


# --------------------------------------------------------------------------- entries


@dataclass
class Line:
    where: str
    lineno: int
    seq: int
    entry: str
    proof: list[bytes]
    prev: Any = None
    has_prev: bool = False
    last: bool = False


def _proof(value: Any, where: str) -> list[bytes]:
    if isinstance(value, str):  # CSV: space-separated
        value = value.split()
    if not isinstance(value, list):
        raise BadInput(f"{where}: inclusion_proof must be a list of base64 hashes")
    out = []
    for i, item in enumerate(value):
        try:
            out.append(_b64(item, f"{where}: inclusion_proof[{i}]", HASH_SIZE))
        except ValueError as exc:
            raise BadInput(str(exc)) from None
    return out


def _line(obj: Any, where: str, lineno: int, csv_row: bool = False) -> Line:
    if not isinstance(obj, dict):
        raise BadInput(f"{where}: must be a JSON object")
    missing = [k for k in ("seq", "entry", "inclusion_proof") if k not in obj]
    if missing:
        raise BadInput(f"{where}: missing {', '.join(missing)}")
    seq = obj["seq"]
    if csv_row and isinstance(seq, str) and seq.isdigit():
        seq = int(seq)
    if not _uint(seq):
        raise BadInput(f"{where}: seq must be a non-negative integer")
    if not isinstance(obj["entry"], str):
        raise BadInput(f"{where}: entry must be a string (the canonical JSON text)")
    return Line(
        where,
        lineno,
        seq,
        obj["entry"],
        _proof(obj["inclusion_proof"], where),
        obj.get("prev"),
        "prev" in obj,
        obj.get("last") is True,
    )


def _chain(first: str, rest: TextIO) -> Iterator[str]:
    yield first
    yield from rest


def read_lines(f: TextIO, path: str) -> Iterator[Line]:
    if path.endswith(".csv"):
        header = f.readline().lstrip("\ufeff")
        # The header names hold no separator of either kind: count which one splits it.
        delimiter = ";" if header.count(";") > header.count(",") else ","
        rows = csv.DictReader(_chain(header, f), delimiter=delimiter)
        for lineno, row in enumerate(rows, start=2):
            yield _line(dict(row), f"{path}:{lineno}", lineno, csv_row=True)
        return
    for lineno, text in enumerate(f, start=1):
        if not text.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{where}: not valid JSON: {exc}") from None
        yield _line(obj, where, lineno)


def check_entries(f: TextIO, path: str, head: Head, *, complete: bool = False) -> int:
    """Verify every line against ``head`` in log order; return how many verified."""
    count = 0
    previous: int | None = None
    chained = None  # do the lines carry prev/last? decided by the first line
    last_seen = False
    for line in read_lines(f, path):
        seq = line.seq
        why = None
        if chained is None:
            chained = line.has_prev
        if previous is not None and seq <= previous:
            why = f"out of log order: seq {seq} comes after seq {previous}"
        elif complete and seq != count:
            why = f"entry {count} is missing: expected seq {count}, found seq {seq}"
        elif chained and line.prev != previous:
            missing = line.prev if _uint(line.prev) else "?"
            before = "the start of the file" if previous is None else f"seq {previous}"
            why = (
                f"entry {missing} is missing or out of place: this line says it follows "
                f"seq {line.prev}, but the line before it is {before}"
            )
        elif chained and last_seen:
            why = "a line follows the line marked last"
        elif seq >= head.tree_size:
            why = f"seq {seq} is not in the tree head of size {head.tree_size}"
        elif not verify_inclusion(
            leaf_hash(line.entry.encode("utf-8")), seq, head.tree_size, line.proof, head.root
        ):
            why = "the inclusion proof does not lead to the tree head's root hash"
        if why is not None:
            raise Failed(f"at entry {seq}: {why} ({path} line {line.lineno})")
        last_seen = line.last
        previous = seq
        count += 1
    if count == 0:
        raise BadInput(f"{path}: no entries")
    if complete and count != head.tree_size:
        raise Failed(
            f"at entry {count}: entries {count} to {head.tree_size - 1} of the tree head "
            f"of size {head.tree_size} are missing from {path}"
        )
    if chained and not last_seen:
        raise Failed(
            f"at entry {previous}: the export ends without its line marked last: "
            f"entries after seq {previous} are missing or the file was cut off"
        )
    return count


def check_consistency(path: str, old: Head, new: Head) -> None:
    data = read_json(path)
    if not isinstance(data, dict):
        raise BadInput(f"{path}: must be a JSON object with first, second and proof")
    if "proof" not in data and "consistency_proof" in data:
        data = {**data, "proof": data["consistency_proof"]}
    for name in ("first", "second", "proof"):
        if name not in data:
            raise BadInput(f"{path}: missing {name}")
    first, second = data["first"], data["second"]
    if not (_uint(first) and _uint(second)):
        raise BadInput(f"{path}: first and second must be non-negative integers")
    if not isinstance(data["proof"], list):
        raise BadInput(f"{path}: proof: must be a list of base64 hashes")
    proof = []
    for i, item in enumerate(data["proof"]):
        try:
            proof.append(_b64(item, f"{path}: proof[{i}]", HASH_SIZE))
        except ValueError as exc:
            raise BadInput(str(exc)) from None
    if first != old.tree_size or second != new.tree_size:
        raise Failed(
            f"{path} is a proof from size {first} to {second}, but the tree heads have "
            f"sizes {old.tree_size} and {new.tree_size}"
        )
    if old.tree_size > new.tree_size:
        raise Failed(
            f"the old tree head (size {old.tree_size}) is larger than the new one "
            f"(size {new.tree_size})"
        )
    if not verify_consistency(old.tree_size, new.tree_size, old.root, new.root, proof):
        raise Failed(
            f"the tree of size {old.tree_size} is not shown to be a prefix of the tree of "
            f"size {new.tree_size}: the consistency proof does not verify"
        )


# --------------------------------------------------------------------------- commands


def _root(head: Head) -> str:
    return base64.b64encode(head.root).decode("ascii")


def cmd_tree_head(args: argparse.Namespace) -> str:
    keys = load_jwks(args.jwks)
    head = load_head(args.head)
    check_head(head, keys, args.jwks, args.head)
    return (
        f"verified tree head of size {head.tree_size} (timestamp {head.timestamp}, "
        f"root {_root(head)}) signed by key {head.key_id!r}"
    )


def cmd_inclusion(args: argparse.Namespace) -> str:
    keys = load_jwks(args.jwks)
    head = load_head(args.head)
    check_head(head, keys, args.jwks, args.head)
    try:
        if args.entries == "-":
            count = check_entries(sys.stdin, "<stdin>", head, complete=args.complete)
        else:
            with open(args.entries, encoding="utf-8", newline="") as f:
                count = check_entries(f, args.entries, head, complete=args.complete)
    except OSError as exc:
        raise BadInput(f"{args.entries}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{args.entries}: not UTF-8 text: {exc}") from None
    except csv.Error as exc:
        raise BadInput(f"{args.entries}: not valid CSV: {exc}") from None
    return f"verified {count} entries against tree head of size {head.tree_size}"


def cmd_consistency(args: argparse.Namespace) -> str:
    keys = load_jwks(args.jwks)
    old, new = load_head(args.old), load_head(args.new)
    check_head(old, keys, args.jwks, args.old)
    check_head(new, keys, args.jwks, args.new)
    check_consistency(args.proof, old, new)
    return (
        f"verified consistency of tree head of size {old.tree_size} with tree head "
        f"of size {new.tree_size}"
    )


# --------------------------------------------------------------------------- witness
# c2sp.org/signed-note, tlog-checkpoint and tlog-cosignature, written out again here so that
# this file stands alone (the service's own copy is consents/checkpoint.py; a test keeps the
# two in agreement).

SIG_ED25519, SIG_COSIGNATURE = 0x01, 0x04
EM_DASH = "\u2014"


def note_key_id(name: str, sig_type: int, public: bytes) -> bytes:
    """SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class VKey:
    name: str
    sig_type: int
    key_id: bytes
    public_key: Ed25519PublicKey


def make_vkey(name: str, key: Ed25519PublicKey, sig_type: int) -> str:
    raw = raw_public(key)
    blob = base64.b64encode(bytes([sig_type]) + raw).decode("ascii")
    return f"{name}+{note_key_id(name, sig_type, raw).hex()}+{blob}"


def parse_vkey(text: str, sig_type: int, what: str) -> VKey:
    """Parse ``<name>+<hex key id>+base64(type || key)``; raise BadInput saying what is wrong."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not parts[0] or any(c.isspace() for c in parts[0]):
        raise BadInput(f"{what}: not a verifier key <name>+<hex key id>+<base64 key>")
    name, kid, b64 = parts
    try:
        blob = base64.b64decode(b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise BadInput(f"{what}: the key is not standard base64") from None
    if len(blob) != 33 or blob[0] != sig_type:
        raise BadInput(f"{what}: expected a 32-byte Ed25519 key of type 0x{sig_type:02x}")
    if note_key_id(name, sig_type, blob[1:]).hex() != kid:
        raise BadInput(f"{what}: the key id {kid} does not match the key")
    try:
        key = Ed25519PublicKey.from_public_bytes(blob[1:])
    except ValueError as exc:
        raise BadInput(f"{what}: not an Ed25519 key ({exc})") from None
    return VKey(name, sig_type, bytes.fromhex(kid), key)


class NoteError(ValueError):
    """A signed note or checkpoint is malformed."""


def split_note(data: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """(text, [(key name, key id, signature)]) of a signed note; NoteError when malformed."""
    if not data.endswith("\n"):
        raise NoteError("the note does not end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in data):
        raise NoteError("the note contains a control character")
    cut = data.rfind("\n\n")
    if cut < 0:
        raise NoteError("the note has no blank line before its signatures")
    text, block = data[: cut + 1], data[cut + 2 :]
    sigs = []
    for i, line in enumerate(block.split("\n")[:-1], start=1):
        fields = line[2:].split(" ") if line.startswith(EM_DASH + " ") else []
        if len(fields) != 2 or not fields[0]:
            raise NoteError(f"signature line {i} is not '{EM_DASH} <name> <base64>'")
        try:
            blob = base64.b64decode(fields[1].encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise NoteError(f"signature line {i}: not standard base64") from None
        if len(blob) < 5:
            raise NoteError(f"signature line {i}: too short")
        sigs.append((fields[0], blob[:4], blob[4:]))
    if not sigs:
        raise NoteError("the note has no signature lines")
    return text, sigs


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")[:-1]
    if len(lines) < 3 or not lines[0]:
        raise NoteError("a checkpoint needs an origin, a size and a root hash line")
    size_text = lines[1]
    if not (size_text.isascii() and size_text.isdigit()) or (
        size_text != "0" and size_text.startswith("0")
    ):
        raise NoteError(f"the tree size {size_text!r} is not a decimal number")
    if int(size_text) > UINT64_MAX:
        raise NoteError("the tree size does not fit in 64 bits")
    try:
        root = base64.b64decode(lines[2].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError("the root hash is not standard base64") from None
    if len(root) != HASH_SIZE:
        raise NoteError(f"the root hash is {len(root)} bytes, not {HASH_SIZE}")
    return Checkpoint(lines[0], int(size_text), root)


def note_signed_by(text: str, sigs: list[tuple[str, bytes, bytes]], vkey: VKey) -> bool | None:
    """True: ``vkey`` signed the text; False: its signature is there but wrong; None: absent."""
    mine = [s for n, k, s in sigs if n == vkey.name and k == vkey.key_id]
    if not mine:
        return None
    try:
        for sig in mine:
            vkey.public_key.verify(sig, text.encode("utf-8"))
    except InvalidSignature:
        return False
    return True


def cosignature_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosignature_line(text: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> str:
    kid = note_key_id(name, SIG_COSIGNATURE, raw_public(key.public_key()))
    sig = struct.pack(">Q", timestamp) + key.sign(cosignature_message(text, timestamp))
    return f"{EM_DASH} {name} {base64.b64encode(kid + sig).decode('ascii')}\n"


def cosigned_by(text: str, sigs: list[tuple[str, bytes, bytes]], vkey: VKey) -> bool:
    mine = [s for n, k, s in sigs if n == vkey.name and k == vkey.key_id]
    if len(mine) != 1 or len(mine[0]) != 72:
        return False
    (timestamp,) = struct.unpack(">Q", mine[0][:8])
    try:
        vkey.public_key.verify(mine[0][8:], cosignature_message(text, timestamp))
    except InvalidSignature:
        return False
    return True


def load_witness_key(path: str) -> Ed25519PrivateKey:
    try:
        with open(path, "rb") as f:
            key = load_pem_private_key(f.read(), password=None)
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the witness key: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BadInput(f"{path}: not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInput(f"{path}: the witness key must be an Ed25519 key")
    return key


def cmd_witness_key(args: argparse.Namespace) -> str:
    if os.path.exists(args.key):
        key = load_witness_key(args.key)
    else:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        fd = os.open(args.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    if not args.name or any(c.isspace() or c == "+" for c in args.name):
        raise BadInput(f"--name {args.name!r}: a key name has no spaces and no '+'")
    return make_vkey(args.name, key.public_key(), SIG_COSIGNATURE)


@dataclass(frozen=True)
class WitnessState:
    checkpoint: Checkpoint
    note: str


def load_state(path: str, own: VKey, origin: str) -> WitnessState | None:
    """The last checkpoint this witness cosigned, checked against its own key."""
    try:
        with open(path, encoding="utf-8") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"witness state {path}: cannot read: {exc}") from None
    try:
        text, sigs = split_note(data)
        checkpoint = parse_checkpoint(text)
    except NoteError as exc:
        raise BadInput(f"witness state {path} was tampered with or damaged: {exc}") from None
    if not cosigned_by(text, sigs, own):
        raise BadInput(
            f"witness state {path} was tampered with: it does not carry this witness's valid "
            f"cosignature ({own.name}), so it is not the checkpoint this witness cosigned"
        )
    if checkpoint.origin != origin:
        raise BadInput(f"witness state {path} is of the log {checkpoint.origin!r}, not {origin!r}")
    return WitnessState(checkpoint, data)


def save_state(path: str, note: str) -> None:
    """Write the state atomically: a temporary file in the same folder, then rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".witness-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(note)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def http(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    if not url.startswith(("http://", "https://")):
        raise BadInput(f"{url}: only http:// and https:// URLs are fetched")
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise BadInput(f"{url}: cannot reach the log: {exc}") from None


def _problem(body: bytes) -> str:
    try:
        problem = json.loads(body)
        return str(problem.get("detail") or problem.get("title") or body[:200])
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace")


def fetch_proof(base: str, first: int, second: int) -> list[bytes]:
    url = f"{base}/api/v1/log/proofs/consistency?first={first}&second={second}"
    status, body = http(url)
    if status != 200:
        raise Failed(
            f"refused: the log gives no consistency proof from size {first} to {second} "
            f"(HTTP {status}: {_problem(body)})"
        )
    try:
        data = json.loads(body)
        if data.get("first") != first or data.get("second") != second:
            raise ValueError(f"it is a proof from {data.get('first')} to {data.get('second')}")
        return _proof(data.get("consistency_proof"), "consistency_proof")
    except (ValueError, AttributeError, BadInput) as exc:
        raise Failed(f"refused: the log's consistency proof is malformed: {exc}") from None


def cmd_witness(args: argparse.Namespace) -> str:
    base = args.log.rstrip("/")
    log_key = parse_vkey(args.log_key, SIG_ED25519, "--log-key")
    origin = args.origin or log_key.name
    key = load_witness_key(args.key)
    own = VKey(
        args.name,
        SIG_COSIGNATURE,
        note_key_id(args.name, SIG_COSIGNATURE, raw_public(key.public_key())),
        key.public_key(),
    )
    state = load_state(args.state, own, origin)
    status, body = http(f"{base}/api/v1/log/checkpoint")
    if status != 200:
        raise Failed(f"refused: the log gave no checkpoint (HTTP {status}: {_problem(body)})")
    try:
        note = body.decode("utf-8")
        text, sigs = split_note(note)
        new = parse_checkpoint(text)
    except (UnicodeDecodeError, NoteError) as exc:
        raise Failed(f"refused: the checkpoint is malformed: {exc}") from None
    signed = note_signed_by(text, sigs, log_key)
    if signed is None:
        raise Failed(
            f"refused: the checkpoint is not signed by the log's key "
            f"{log_key.name}+{log_key.key_id.hex()}"
        )
    if not signed:
        raise Failed("refused: the log's signature on the checkpoint does not verify (forged)")
    if new.origin != origin:
        raise Failed(f"refused: the checkpoint is of the log {new.origin!r}, not {origin!r}")
    old = state.checkpoint if state else None
    if old is not None:
        if new.size < old.size:
            raise Failed(
                f"refused: the checkpoint of size {new.size} is smaller than the checkpoint of "
                f"size {old.size} this witness cosigned before: the log was rolled back"
            )
        if new.size == old.size and new.root != old.root:
            raise Failed(
                f"refused: fork: the checkpoint of size {new.size} has another root hash than "
                f"the one of the same size this witness cosigned before"
            )
        if new.size > old.size:
            proof = fetch_proof(base, old.size, new.size)
            if not verify_consistency(old.size, new.size, old.root, new.root, proof):
                raise Failed(
                    f"refused: fork: the checkpoint of size {new.size} does not extend the "
                    f"checkpoint of size {old.size} this witness cosigned before (the "
                    "consistency proof does not verify)"
                )
    log_sig = next(sig for n, k, sig in sigs if n == log_key.name and k == log_key.key_id)
    log_line = f"{EM_DASH} {log_key.name} {base64.b64encode(log_key.key_id + log_sig).decode()}\n"
    cosigned = text + "\n" + log_line + cosignature_line(text, args.name, key, int(time.time()))
    save_state(args.state, cosigned)
    status, body = http(
        f"{base}/api/v1/log/cosignatures", json.dumps({"checkpoint": cosigned}).encode()
    )
    if status != 201:
        raise Failed(
            f"the log refused the cosignature of size {new.size} (HTTP {status}: "
            f"{_problem(body)}); it is kept in {args.state}"
        )
    since = f"consistent with size {old.size} cosigned before" if old else "first checkpoint seen"
    return (
        f"cosigned the checkpoint of size {new.size} "
        f"(root {base64.b64encode(new.root).decode()}), {since}; "
        "the log stored the cosignature"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tahto_verify.py",
        description="Verify Tahto's consent log: signed tree heads, inclusion of exported "
        "entries, consistency of two heads. Exit status: 0 verified, 1 failed, 2 bad input.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("tree-head", help="verify the signature of a tree head")
    p.add_argument("--jwks", required=True, metavar="FILE")
    p.add_argument("head", metavar="HEAD.json")
    p.set_defaults(func=cmd_tree_head)
    p = sub.add_parser("inclusion", help="verify exported entries are in a tree head")
    p.add_argument("--head", required=True, metavar="HEAD.json")
    p.add_argument("--jwks", required=True, metavar="FILE")
    p.add_argument("--complete", action="store_true", help="require every entry 0..size-1")
    p.add_argument("entries", metavar="ENTRIES.jsonl", help="JSON Lines or .csv ('-' = stdin)")
    p.set_defaults(func=cmd_inclusion)
    p = sub.add_parser("consistency", help="verify a newer tree head extends an older one")
    p.add_argument("--jwks", required=True, metavar="FILE")
    p.add_argument("old", metavar="OLD.json")
    p.add_argument("new", metavar="NEW.json")
    p.add_argument("proof", metavar="PROOF.json")
    p.set_defaults(func=cmd_consistency)
    p = sub.add_parser("witness-key", help="make (or show) the witness's key; print its vkey")
    p.add_argument("--name", required=True, help="the witness's key name, e.g. valvira.fi/w1")
    p.add_argument("--key", required=True, metavar="WITNESS.pem", help="made if missing")
    p.set_defaults(func=cmd_witness_key)
    p = sub.add_parser("witness", help="check the log's newest checkpoint and cosign it")
    p.add_argument("--log", required=True, metavar="URL", help="the operator, e.g. https://...")
    p.add_argument("--log-key", required=True, metavar="VKEY", help="the log's verifier key")
    p.add_argument("--origin", default="", help="the log's origin (default: the key's name)")
    p.add_argument("--name", required=True, help="this witness's key name")
    p.add_argument("--key", required=True, metavar="WITNESS.pem", help="this witness's key")
    p.add_argument("--state", required=True, metavar="STATE.note", help="its last cosignature")
    p.set_defaults(func=cmd_witness)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        message = args.func(args)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Failed as exc:
        text = str(exc)
        print(
            f"verification failed{' ' if text.startswith('at entry ') else ': '}{text}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(message)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
