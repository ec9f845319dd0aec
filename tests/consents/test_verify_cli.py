"""The stand-alone verifier, run as ``python -m consents.verify`` in a subprocess."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consents.merkle import ListSource, consistency_proof, inclusion_proof, root_hash
from consents.treehead import public_key_to_jwk, sign_tree_head, tree_head_to_json

REPO = Path(__file__).resolve().parents[2]
KID = "tahto-log-2025"
SIZE = 13


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def canonical(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "consents.verify", *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class Log:
    dir: Path
    key: Ed25519PrivateKey
    entries: list[str]
    source: ListSource
    jwks: Path
    head: Path

    def write_head(self, name: str, size: int, timestamp: int = 1_750_000_000_000) -> Path:
        root = root_hash(self.source, size)
        sig = sign_tree_head(self.key, size, timestamp, root)
        path = self.dir / name
        path.write_text(json.dumps(tree_head_to_json(size, timestamp, root, sig, KID)))
        return path

    def lines(self, seqs: list[int] | None = None, size: int = SIZE) -> list[str]:
        seqs = list(range(size)) if seqs is None else seqs
        return [
            json.dumps(
                {
                    "seq": seq,
                    "entry": self.entries[seq],
                    "inclusion_proof": [b64(p) for p in inclusion_proof(seq, size, self.source)],
                }
            )
            for seq in seqs
        ]

    def write_lines(self, lines: list[str], name: str = "entries.jsonl") -> Path:
        path = self.dir / name
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    def write_proof(self, first: int, second: int, name: str = "proof.json") -> Path:
        proof = consistency_proof(first, second, self.source)
        path = self.dir / name
        path.write_text(
            json.dumps({"first": first, "second": second, "proof": [b64(p) for p in proof]})
        )
        return path


@pytest.fixture
def log(tmp_path: Path) -> Log:
    key = Ed25519PrivateKey.generate()
    other = Ed25519PrivateKey.generate()
    entries = [
        canonical(
            {
                "seq": i,
                "type": "consent.granted" if i % 3 else "consent.requested",
                "consent_id": f"c-{i // 3}",
                "subject": f"person-{i % 5}",
                "note": "hyväksytty ✓",
            }
        )
        for i in range(SIZE)
    ]
    source = ListSource.from_entries([e.encode("utf-8") for e in entries])
    jwks = tmp_path / "jwks.json"
    jwks.write_text(
        json.dumps(
            {
                "keys": [
                    public_key_to_jwk(other.public_key(), kid="retired"),
                    public_key_to_jwk(key.public_key(), kid=KID),
                ]
            }
        )
    )
    lg = Log(tmp_path, key, entries, source, jwks, tmp_path / "head.json")
    lg.write_head("head.json", SIZE)
    return lg


def assert_failed(result: subprocess.CompletedProcess[str], text: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert text in out, out
    assert "verified" not in out, out


def assert_bad_input(result: subprocess.CompletedProcess[str], text: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert text in out, out
    assert "verified" not in out, out


# --------------------------------------------------------------------------- success


def test_tree_head_verifies(log: Log) -> None:
    result = run("tree-head", "--jwks", log.jwks, log.head)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"verified tree head of size {SIZE}")


def test_all_entries_verify(log: Log) -> None:
    entries = log.write_lines(log.lines())
    result = run("inclusion", "--head", log.head, "--jwks", log.jwks, entries)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"verified {SIZE} entries against tree head of size {SIZE}"
    result = run("inclusion", "--complete", "--head", log.head, "--jwks", log.jwks, entries)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_subset_of_entries_verifies(log: Log) -> None:
    entries = log.write_lines(log.lines([1, 4, 5, 12]))
    result = run("inclusion", "--head", log.head, "--jwks", log.jwks, entries)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"verified 4 entries against tree head of size {SIZE}"


def test_entries_against_an_older_head(log: Log) -> None:
    head = log.write_head("head7.json", 7)
    entries = log.write_lines(log.lines(size=7))
    result = run("inclusion", "--complete", "--head", head, "--jwks", log.jwks, entries)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "verified 7 entries against tree head of size 7"


@pytest.mark.parametrize(("old", "new"), [(7, SIZE), (1, SIZE), (8, SIZE), (SIZE, SIZE), (0, 5)])
def test_consistency_verifies(log: Log, old: int, new: int) -> None:
    old_head = log.write_head("old.json", old, timestamp=1_700_000_000_000)
    new_head = log.write_head("new.json", new)
    proof = log.write_proof(old, new)
    result = run("consistency", "--jwks", log.jwks, old_head, new_head, proof)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(
        f"verified consistency of tree head of size {old} with tree head of size {new}"
    )


# --------------------------------------------------------------------------- failures


def test_tampered_entry_fails_at_that_entry(log: Log) -> None:
    lines = log.lines()
    obj = json.loads(lines[7])
    obj["entry"] = obj["entry"].replace("consent.granted", "consent.revoked")
    assert obj["entry"] != log.entries[7]
    lines[7] = json.dumps(obj)
    entries = log.write_lines(lines)
    result = run("inclusion", "--head", log.head, "--jwks", log.jwks, entries)
    assert_failed(result, "verification failed at entry 7:")
    assert "line 8" in result.stderr


def test_one_changed_byte_fails(log: Log) -> None:
    lines = log.lines()
    obj = json.loads(lines[0])
    obj["entry"] = obj["entry"].replace("person-0", "person-1")
    lines[0] = json.dumps(obj)
    result = run("inclusion", "--head", log.head, "--jwks", log.jwks, log.write_lines(lines))
    assert_failed(result, "verification failed at entry 0:")


def test_reordered_lines_fail(log: Log) -> None:
    lines = log.lines()
    lines[3], lines[4] = lines[4], lines[3]
    result = run("inclusion", "--head", log.head, "--jwks", log.jwks, log.write_lines(lines))
    assert_failed(result, "verification failed at entry 3: out of log order")


def test_entry_moved_to_another_seq_fails(log: Log) -> None:
    # Swap the entry texts (and proofs) of seq 4 and 5 but keep the seq numbers in order.
    lines = [json.loads(line) for line in log.lines()]
    for key in ("entry", "inclusion_proof"):
        lines[4][key], lines[5][key] = lines[5][key], lines[4][key]
    result = run(
        "inclusion",
        "--head",
        log.head,
        "--jwks",
        log.jwks,
        log.write_lines([json.dumps(o) for o in lines]),
    )
    assert_failed(result, "verification failed at entry 4:")


def test_corrupted_proof_fails(log: Log) -> None:
    lines = [json.loads(line) for line in log.lines()]
    proof = base64.b64decode(lines[9]["inclusion_proof"][1])
    lines[9]["inclusion_proof"][1] = b64(bytes([proof[0] ^ 1]) + proof[1:])
    entries = log.write_lines([json.dumps(o) for o in lines])
    result = run("inclusion", "--head", log.head, "--jwks", log.jwks, entries)
    assert_failed(result, "verification failed at entry 9:")


def test_missing_entry_fails_when_complete(log: Log) -> None:
    lines = log.lines()
    del lines[5]
    entries = log.write_lines(lines)
    # Without --complete, a subset is fine ...
    assert run("inclusion", "--head", log.head, "--jwks", log.jwks, entries).returncode == 0
    # ... with it, the gap is found.
    result = run("inclusion", "--complete", "--head", log.head, "--jwks", log.jwks, entries)
    assert_failed(result, "verification failed at entry 6: entry 5 is missing")
    truncated = log.write_lines(log.lines()[:-2], "truncated.jsonl")
    result = run("inclusion", "--complete", "--head", log.head, "--jwks", log.jwks, truncated)
    assert_failed(result, "verification failed at entry 11:")


def test_seq_beyond_the_head_fails(log: Log) -> None:
    head = log.write_head("head7.json", 7)
    entries = log.write_lines(log.lines())  # proofs for size 13 against a head of size 7
    result = run("inclusion", "--head", head, "--jwks", log.jwks, entries)
    assert_failed(result, "verification failed at entry 0:")
    entries = log.write_lines(log.lines([6], size=7) + log.lines([7]), "beyond.jsonl")
    result = run("inclusion", "--head", head, "--jwks", log.jwks, entries)
    assert_failed(result, "verification failed at entry 7: seq 7 is not in the tree head")


def _forge(path: Path, **changes: object) -> None:
    d = json.loads(path.read_text())
    d.update(changes)
    path.write_text(json.dumps(d))


def test_forged_head_signature_fails(log: Log) -> None:
    entries = log.write_lines(log.lines())
    sig = base64.b64decode(json.loads(log.head.read_text())["tree_head_signature"])
    _forge(log.head, tree_head_signature=b64(sig[:10] + bytes([sig[10] ^ 0x40]) + sig[11:]))
    for result in (
        run("tree-head", "--jwks", log.jwks, log.head),
        run("inclusion", "--head", log.head, "--jwks", log.jwks, entries),
    ):
        assert_failed(result, "verification failed: ")
        assert "signature" in result.stderr


def test_head_with_changed_fields_fails(log: Log) -> None:
    # A head whose size or timestamp was changed after signing.
    _forge(log.head, tree_size=SIZE + 1)
    assert_failed(run("tree-head", "--jwks", log.jwks, log.head), "does not verify")
    head = log.write_head("head2.json", SIZE)
    _forge(head, timestamp=1)
    assert_failed(run("tree-head", "--jwks", log.jwks, head), "does not verify")


def test_head_signed_by_another_key_fails(log: Log) -> None:
    other = Ed25519PrivateKey.generate()
    root = root_hash(log.source, SIZE)
    sig = sign_tree_head(other, SIZE, 5, root)
    log.head.write_text(json.dumps(tree_head_to_json(SIZE, 5, root, sig, KID)))
    assert_failed(run("tree-head", "--jwks", log.jwks, log.head), "does not verify")
    # The right signature under a kid not in the JWKS.
    log.head.write_text(json.dumps(tree_head_to_json(SIZE, 5, root, sig, "unknown")))
    assert_failed(run("tree-head", "--jwks", log.jwks, log.head), "no key with kid 'unknown'")


def test_inconsistent_heads_fail(log: Log) -> None:
    old_head = log.write_head("old.json", 7)
    # The log rewrote entry 2 and signed a new head over the rewritten history.
    rewritten = list(log.entries)
    rewritten[2] = rewritten[2].replace("person-2", "person-3")
    forged = Log(
        log.dir,
        log.key,
        rewritten,
        ListSource.from_entries([e.encode() for e in rewritten]),
        log.jwks,
        log.head,
    )
    new_head = forged.write_head("new.json", SIZE)
    proof = forged.write_proof(7, SIZE)
    result = run("consistency", "--jwks", log.jwks, old_head, new_head, proof)
    assert_failed(result, "verification failed: the tree of size 7 is not shown to be a prefix")


def test_consistency_proof_mismatch_fails(log: Log) -> None:
    old_head = log.write_head("old.json", 7)
    new_head = log.write_head("new.json", SIZE)
    proof = log.write_proof(6, SIZE)
    result = run("consistency", "--jwks", log.jwks, old_head, new_head, proof)
    assert_failed(result, "is a proof from size 6 to 13")
    # A corrupted proof.
    proof = log.write_proof(7, SIZE)
    d = json.loads(proof.read_text())
    d["proof"] = d["proof"][:-1]
    proof.write_text(json.dumps(d))
    result = run("consistency", "--jwks", log.jwks, old_head, new_head, proof)
    assert_failed(result, "consistency proof does not verify")
    # Heads in the wrong order.
    result = run("consistency", "--jwks", log.jwks, new_head, old_head, log.write_proof(7, SIZE))
    assert result.returncode == 1


# --------------------------------------------------------------------------- bad input


def test_bad_input_exits_2_and_says_where(log: Log) -> None:
    lines = log.lines()
    lines[2] = lines[2][:-5]  # truncated JSON
    entries = log.write_lines(lines)
    result = run("inclusion", "--head", log.head, "--jwks", log.jwks, entries)
    assert_bad_input(result, f"{entries}:3: not valid JSON")

    bad_b64 = json.loads(log.lines()[0])
    bad_b64["inclusion_proof"][0] = "%%%"
    entries = log.write_lines([json.dumps(bad_b64)], "b64.jsonl")
    result = run("inclusion", "--head", log.head, "--jwks", log.jwks, entries)
    assert_bad_input(result, f"{entries}:1: inclusion_proof[0]: not valid standard base64")

    no_seq = json.loads(log.lines()[0])
    del no_seq["seq"]
    entries = log.write_lines([json.dumps(no_seq)], "noseq.jsonl")
    result = run("inclusion", "--head", log.head, "--jwks", log.jwks, entries)
    assert_bad_input(result, f"{entries}:1: missing seq")

    empty = log.write_lines([], "empty.jsonl")
    result = run("inclusion", "--head", log.head, "--jwks", log.jwks, empty)
    assert_bad_input(result, "no entries")

    missing = log.dir / "nope.json"
    result = run("tree-head", "--jwks", log.jwks, missing)
    assert_bad_input(result, f"{missing}: cannot read")

    _forge(log.head, sha256_root_hash="AAAA")
    result = run("tree-head", "--jwks", log.jwks, log.head)
    assert_bad_input(result, "sha256_root_hash must decode to 32 bytes")


def test_bad_jwks_exits_2(log: Log) -> None:
    log.jwks.write_text(json.dumps([{"kty": "OKP"}]))
    assert_bad_input(run("tree-head", "--jwks", log.jwks, log.head), "not a JWKS")
    log.jwks.write_text(json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "kid": KID}]}))
    assert_bad_input(run("tree-head", "--jwks", log.jwks, log.head), "kty must be 'OKP'")


def test_usage_errors_exit_2(log: Log) -> None:
    assert run().returncode == 2
    assert run("inclusion", "--jwks", log.jwks, "x.jsonl").returncode == 2  # no --head


def test_verifier_does_not_import_django() -> None:
    code = (
        "import sys, consents.verify\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'rest_framework', 'mydata_operator', 'connectors', 'joserfc'} "
        "or (m.startswith('consents.') and m not in "
        "{'consents.verify', 'consents.merkle', 'consents.treehead'}))\n"
        "assert not bad, bad\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
