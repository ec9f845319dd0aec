"""Stand-alone verifier of the consent log's signed tree heads and proofs.

Needs only Python and ``cryptography``: it imports nothing of the project but
``consents.merkle`` and ``consents.treehead``, which are themselves standard library and
``cryptography`` only, so anyone can audit the log without the service.

Usage::

    python -m consents.verify tree-head --jwks JWKS.json HEAD.json
    python -m consents.verify inclusion --head HEAD.json --jwks JWKS.json ENTRIES.jsonl
    python -m consents.verify consistency --jwks JWKS.json OLD.json NEW.json PROOF.json

Files:

* ``JWKS.json`` — ``{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": ..., "kid": ...}, ...]}``;
  the key whose ``kid`` equals the head's ``key_id`` is used.
* ``HEAD.json`` — a signed tree head: ``tree_size``, ``timestamp`` (ms), ``sha256_root_hash``,
  ``tree_head_signature`` (standard base64) and ``key_id``.
* ``ENTRIES.jsonl`` — one JSON object per line, in log order:
  ``{"seq": 0, "entry": "<canonical JSON text of the entry>", "inclusion_proof": [base64...]}``;
  the leaf is the UTF-8 bytes of ``entry``. With ``--complete`` the file must hold every entry
  of the tree, seq 0 to tree_size - 1.
* ``PROOF.json`` — ``{"first": m, "second": n, "proof": [base64...]}``.

Exit status: 0 everything verified; 1 verification failed; 2 bad input (unreadable or
malformed file, wrong usage), with a message saying what and where.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consents.merkle import EMPTY_ROOT, leaf_hash, verify_consistency, verify_inclusion
from consents.treehead import TreeHead, public_key_from_jwk, tree_head_from_json

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """An input file is missing, unreadable or malformed (exit status 2)."""


class VerificationFailed(Exception):
    """Something did not verify (exit status 1)."""


# --------------------------------------------------------------------------- reading input


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not valid JSON: {exc}") from None


def load_head(path: str) -> TreeHead:
    """Read and parse a signed tree head file."""
    try:
        return tree_head_from_json(_read_json(path))
    except ValueError as exc:
        raise BadInput(f"{path}: not a valid tree head: {exc}") from None


def load_jwks(path: str) -> list[dict[str, Any]]:
    """Read a JWKS file and return its list of keys."""
    jwks = _read_json(path)
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise BadInput(f'{path}: not a JWKS: expected an object with a "keys" list')
    for i, key in enumerate(jwks["keys"]):
        if not isinstance(key, dict):
            raise BadInput(f"{path}: keys[{i}] is not a JSON object")
    return jwks["keys"]


def find_key(keys: Sequence[dict[str, Any]], kid: str, jwks_path: str) -> Ed25519PublicKey:
    """Return the Ed25519 key with ``kid`` from the JWKS keys."""
    matches = [(i, k) for i, k in enumerate(keys) if k.get("kid") == kid]
    if not matches:
        raise VerificationFailed(f"no key with kid {kid!r} in {jwks_path}")
    if len(matches) > 1:
        raise BadInput(f"{jwks_path}: {len(matches)} keys have kid {kid!r}")
    i, jwk = matches[0]
    try:
        return public_key_from_jwk(jwk)
    except ValueError as exc:
        raise BadInput(f"{jwks_path}: keys[{i}] (kid {kid!r}): {exc}") from None


def _decode_hashes(value: Any, where: str) -> list[bytes]:
    if not isinstance(value, list):
        raise BadInput(f"{where}: must be a list of base64 hashes")
    hashes = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise BadInput(f"{where}[{i}]: must be a base64 string")
        try:
            raw = base64.b64decode(item.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise BadInput(f"{where}[{i}]: not valid standard base64") from None
        if len(raw) != 32:
            raise BadInput(f"{where}[{i}]: must decode to 32 bytes, got {len(raw)}")
        hashes.append(raw)
    return hashes


def _is_uint(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# --------------------------------------------------------------------------- checks


def check_head(head: TreeHead, keys: Sequence[dict[str, Any]], jwks_path: str, name: str) -> None:
    """Verify a tree head's signature with the key named by its ``key_id``."""
    key = find_key(keys, head.key_id, jwks_path)
    if not head.verify(key):
        raise VerificationFailed(
            f"{name}: the signature of the tree head of size {head.tree_size} "
            f"does not verify with key {head.key_id!r}"
        )
    if head.tree_size == 0 and head.sha256_root_hash != EMPTY_ROOT:
        raise VerificationFailed(f"{name}: a tree of size 0 must have the empty root hash")


def _entry_lines(f: TextIO, path: str) -> Iterator[tuple[int, int, str, list[bytes]]]:
    """Yield (line number, seq, entry text, proof) for each non-blank line."""
    for lineno, line in enumerate(f, start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{where}: not valid JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise BadInput(f"{where}: must be a JSON object")
        missing = [k for k in ("seq", "entry", "inclusion_proof") if k not in obj]
        if missing:
            raise BadInput(f"{where}: missing {', '.join(missing)}")
        if not _is_uint(obj["seq"]):
            raise BadInput(f"{where}: seq must be a non-negative integer")
        if not isinstance(obj["entry"], str):
            raise BadInput(f"{where}: entry must be a string (the canonical JSON text)")
        proof = _decode_hashes(obj["inclusion_proof"], f"{where}: inclusion_proof")
        yield lineno, obj["seq"], obj["entry"], proof


def check_entries(f: TextIO, path: str, head: TreeHead, *, complete: bool = False) -> int:
    """Verify every entry line against ``head``; return how many were verified.

    Entries must be in log order (strictly increasing seq); with ``complete`` they must be
    exactly seq 0 .. tree_size - 1.
    """
    count = 0
    previous: int | None = None
    for lineno, seq, entry, proof in _entry_lines(f, path):
        why = None
        if previous is not None and seq <= previous:
            why = f"out of log order: seq {seq} comes after seq {previous}"
        elif complete and seq != count:
            why = f"entry {count} is missing: expected seq {count}, found seq {seq}"
        elif seq >= head.tree_size:
            why = f"seq {seq} is not in the tree head of size {head.tree_size}"
        elif not verify_inclusion(
            leaf_hash(entry.encode("utf-8")), seq, head.tree_size, proof, head.sha256_root_hash
        ):
            why = "the inclusion proof does not lead to the tree head's root hash"
        if why is not None:
            raise VerificationFailed(f"at entry {seq}: {why} ({path} line {lineno})")
        previous = seq
        count += 1
    if count == 0:
        raise BadInput(f"{path}: no entries")
    if complete and count != head.tree_size:
        raise VerificationFailed(
            f"at entry {count}: entries {count} to {head.tree_size - 1} of the tree head "
            f"of size {head.tree_size} are missing from {path}"
        )
    return count


def check_consistency_proof(path: str, old: TreeHead, new: TreeHead) -> None:
    """Verify the consistency proof file between two verified tree heads."""
    data = _read_json(path)
    if not isinstance(data, dict):
        raise BadInput(f"{path}: must be a JSON object with first, second and proof")
    for name in ("first", "second", "proof"):
        if name not in data:
            raise BadInput(f"{path}: missing {name}")
    first, second = data["first"], data["second"]
    if not (_is_uint(first) and _is_uint(second)):
        raise BadInput(f"{path}: first and second must be non-negative integers")
    proof = _decode_hashes(data["proof"], f"{path}: proof")
    if first != old.tree_size or second != new.tree_size:
        raise VerificationFailed(
            f"{path} is a proof from size {first} to {second}, but the tree heads have "
            f"sizes {old.tree_size} and {new.tree_size}"
        )
    if old.tree_size > new.tree_size:
        raise VerificationFailed(
            f"the old tree head (size {old.tree_size}) is larger than the new one "
            f"(size {new.tree_size})"
        )
    if not verify_consistency(
        old.tree_size, new.tree_size, old.sha256_root_hash, new.sha256_root_hash, proof
    ):
        raise VerificationFailed(
            f"the tree of size {old.tree_size} is not shown to be a prefix of the tree of "
            f"size {new.tree_size}: the consistency proof does not verify"
        )


# --------------------------------------------------------------------------- commands


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def cmd_tree_head(args: argparse.Namespace) -> str:
    keys = load_jwks(args.jwks)
    head = load_head(args.head)
    check_head(head, keys, args.jwks, args.head)
    return (
        f"verified tree head of size {head.tree_size} (timestamp {head.timestamp}, "
        f"root {_b64(head.sha256_root_hash)}) signed by key {head.key_id!r}"
    )


def cmd_inclusion(args: argparse.Namespace) -> str:
    keys = load_jwks(args.jwks)
    head = load_head(args.head)
    check_head(head, keys, args.jwks, args.head)
    try:
        if args.entries == "-":
            count = check_entries(sys.stdin, "<stdin>", head, complete=args.complete)
        else:
            with open(args.entries, encoding="utf-8") as f:
                count = check_entries(f, args.entries, head, complete=args.complete)
    except OSError as exc:
        raise BadInput(f"{args.entries}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{args.entries}: not UTF-8 text: {exc}") from None
    return f"verified {count} entries against tree head of size {head.tree_size}"


def cmd_consistency(args: argparse.Namespace) -> str:
    keys = load_jwks(args.jwks)
    old = load_head(args.old)
    new = load_head(args.new)
    check_head(old, keys, args.jwks, args.old)
    check_head(new, keys, args.jwks, args.new)
    check_consistency_proof(args.proof, old, new)
    return (
        f"verified consistency of tree head of size {old.tree_size} with tree head "
        f"of size {new.tree_size}"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m consents.verify",
        description="Verify the consent log's signed tree heads and proofs. Exit status: "
        "0 verified, 1 verification failed, 2 bad input.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("tree-head", help="verify the signature of a tree head")
    p.add_argument("--jwks", required=True, metavar="FILE", help="the log's public JWKS")
    p.add_argument("head", metavar="HEAD.json", help="the signed tree head")
    p.set_defaults(func=cmd_tree_head)

    p = sub.add_parser("inclusion", help="verify entries are included in a tree head")
    p.add_argument("--head", required=True, metavar="HEAD.json", help="the signed tree head")
    p.add_argument("--jwks", required=True, metavar="FILE", help="the log's public JWKS")
    p.add_argument(
        "--complete",
        action="store_true",
        help="require every entry of the tree, seq 0 to tree_size - 1",
    )
    p.add_argument("entries", metavar="ENTRIES.jsonl", help="entries with proofs ('-' = stdin)")
    p.set_defaults(func=cmd_inclusion)

    p = sub.add_parser("consistency", help="verify a newer tree head extends an older one")
    p.add_argument("--jwks", required=True, metavar="FILE", help="the log's public JWKS")
    p.add_argument("old", metavar="OLD.json", help="the older signed tree head")
    p.add_argument("new", metavar="NEW.json", help="the newer signed tree head")
    p.add_argument("proof", metavar="PROOF.json", help="the consistency proof")
    p.set_defaults(func=cmd_consistency)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the verifier; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        message = args.func(args)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except VerificationFailed as exc:
        text = str(exc)
        sep = " " if text.startswith("at entry ") else ": "
        print(f"verification failed{sep}{text}", file=sys.stderr)
        return EXIT_FAILED
    print(message)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
