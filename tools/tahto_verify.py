#!/usr/bin/env python3
"""Verify Tahto's consent log without Tahto: one file, Python 3.11+ and ``cryptography``.

Checks what the operator publishes and exports, trusting nothing but the operator's public
key (its JWKS):

    python -I tahto_verify.py tree-head --jwks JWKS.json HEAD.json
    python -I tahto_verify.py inclusion --head HEAD.json --jwks JWKS.json ENTRIES.jsonl
    python -I tahto_verify.py inclusion --complete --head HEAD.json --jwks JWKS.json ALL.jsonl
    python -I tahto_verify.py consistency --jwks JWKS.json OLD.json NEW.json PROOF.json

* HEAD.json: a signed tree head (RFC 6962 §3.5 TreeHeadSignature, Ed25519): ``tree_size``,
  ``timestamp`` (ms), ``sha256_root_hash`` and ``tree_head_signature`` (standard base64),
  ``key_id`` (the ``kid`` of the signing key in the JWKS).
* ENTRIES.jsonl: one JSON object per line, in log order: ``seq``, ``entry`` (the canonical
  JSON text that was hashed), ``inclusion_proof`` (base64 hashes). Lines exported by Tahto
  also carry ``prev`` (the seq of the previous exported line, null on the first) and
  ``last`` (true on the final line); when they are present, a line missing from the middle,
  the start or the end of the file is reported too. A CSV export (``.csv``, with the columns
  ``seq``, ``entry`` and ``inclusion_proof`` as space-separated base64) is read as well.
* PROOF.json: ``{"first": m, "second": n, "proof": [base64, ...]}`` (Tahto's API names the
  list ``consistency_proof``; both names are accepted).

The Merkle tree algorithms are those of RFC 9162 §2.1 (leaf = SHA-256(0x00 || entry),
node = SHA-256(0x01 || left || right)), written out here so that this file can be read and
audited on its own. It gives the same verdicts as ``python -m consents.verify``.

Exit status: 0 verified; 1 verification failed (says at which entry); 2 bad input.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import hashlib
import json
import struct
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
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


def read_lines(f: TextIO, path: str) -> Iterator[Line]:
    if path.endswith(".csv"):
        for lineno, row in enumerate(csv.DictReader(f), start=2):
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
