"""tools/tahto_verify.py gives the same verdicts as `python -m consents.verify`.

Both run as separate processes on the same files: good exports, tampered exports, forged
tree heads and consistency proofs. The tool runs with `python -I` from `/`, so it can use
nothing of the project.
"""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consents.merkle import ListSource, consistency_proof, inclusion_proof, root_hash
from consents.treehead import public_key_to_jwk, sign_tree_head, tree_head_to_json
from tests.regulator.exports import run_module, run_tool

KID = "parity-key"
SIZE = 11


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class Files:
    dir: Path
    key: Ed25519PrivateKey
    entries: list[str]
    source: ListSource

    def head(self, name: str, size: int, *, forge: bool = False, kid: str = KID) -> Path:
        root = root_hash(self.source, size)
        sig = sign_tree_head(self.key, size, 1_772_000_000_000 + size, root)
        if forge:  # claim another root under the same signature
            root = bytes(32)
        path = self.dir / name
        path.write_text(
            json.dumps(tree_head_to_json(size, 1_772_000_000_000 + size, root, sig, kid))
        )
        return path

    def lines(self, seqs: list[int], size: int = SIZE) -> list[str]:
        return [
            json.dumps(
                {
                    "seq": s,
                    "entry": self.entries[s],
                    "inclusion_proof": [b64(p) for p in inclusion_proof(s, size, self.source)],
                }
            )
            + "\n"
            for s in seqs
        ]

    def write(self, name: str, text: str) -> Path:
        path = self.dir / name
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def files(tmp_path: Path) -> Files:
    key = Ed25519PrivateKey.generate()
    entries = [
        json.dumps({"seq": i, "type": "consent.granted", "v": 1}, separators=(",", ":"))
        for i in range(SIZE)
    ]
    f = Files(tmp_path, key, entries, ListSource.from_entries([e.encode() for e in entries]))
    f.write("jwks.json", json.dumps({"keys": [public_key_to_jwk(key.public_key(), KID)]}))
    return f


def _changed(f: Files) -> list[str]:
    lines = f.lines(list(range(SIZE)))
    obj = json.loads(lines[5])
    obj["entry"] = obj["entry"].replace("granted", "withdrawn")
    lines[5] = json.dumps(obj) + "\n"
    return lines


def _bad_proof(f: Files) -> list[str]:
    lines = f.lines([1, 4, 9])
    obj = json.loads(lines[1])
    obj["inclusion_proof"][0] = b64(bytes(32))
    lines[1] = json.dumps(obj) + "\n"
    return lines


def _moved(f: Files) -> list[str]:
    lines = f.lines([1, 2, 3])
    obj = json.loads(lines[1])
    obj["seq"] = 7  # the entry of seq 2 claimed at 7
    lines[1] = json.dumps(obj) + "\n"
    return lines


def _no_proof_key(f: Files) -> list[str]:
    lines = f.lines([1])
    obj = json.loads(lines[0])
    del obj["inclusion_proof"]
    return [json.dumps(obj) + "\n"]


ENTRY_CASES: dict[str, tuple[Callable[[Files], list[str]], list[str]]] = {
    "every entry": (lambda f: f.lines(list(range(SIZE))), []),
    "every entry, complete": (lambda f: f.lines(list(range(SIZE))), ["--complete"]),
    "a selection": (lambda f: f.lines([0, 3, 10]), []),
    "a changed entry": (_changed, []),
    "a changed proof hash": (_bad_proof, []),
    "an entry moved to another seq": (_moved, []),
    "reordered lines": (lambda f: f.lines([4, 2, 6]), []),
    "a removed entry, complete": (
        lambda f: f.lines([0, 1, 3, 4, 5, 6, 7, 8, 9, 10]),
        ["--complete"],
    ),
    "the last entry removed, complete": (lambda f: f.lines(list(range(SIZE - 1))), ["--complete"]),
    "a seq beyond the head": (
        lambda f: [json.dumps({"seq": SIZE, "entry": "{}", "inclusion_proof": []}) + "\n"],
        [],
    ),
    "no entries": (lambda f: [], []),
    "a line that is not JSON": (lambda f: [*f.lines([1]), "{nope\n"], []),
    "a line without its proof": (_no_proof_key, []),
}


@pytest.mark.parametrize("case", list(ENTRY_CASES))
def test_inclusion_verdicts_are_the_same(files: Files, case: str) -> None:
    make, extra = ENTRY_CASES[case]
    head = files.head("head.json", SIZE)
    entries = files.write("entries.jsonl", "".join(make(files)))
    args: list[str | Path] = [
        "inclusion",
        "--head",
        head,
        "--jwks",
        files.dir / "jwks.json",
        *extra,
        entries,
    ]
    tool, module = run_tool(*args), run_module(*args)
    assert (tool.returncode, tool.stdout, tool.stderr) == (
        module.returncode,
        module.stdout,
        module.stderr,
    )
    if case.startswith(("every", "a selection")):
        assert tool.returncode == 0
    else:
        assert tool.returncode in (1, 2) and "verified" not in tool.stdout


@pytest.mark.parametrize("forge", [False, True])
def test_tree_head_verdicts_are_the_same(files: Files, forge: bool) -> None:
    head = files.head("head.json", 7, forge=forge)
    args: list[str | Path] = ["tree-head", "--jwks", files.dir / "jwks.json", head]
    tool, module = run_tool(*args), run_module(*args)
    assert (tool.returncode, tool.stdout, tool.stderr) == (
        module.returncode,
        module.stdout,
        module.stderr,
    )
    assert tool.returncode == (1 if forge else 0)


def test_a_head_signed_by_an_unknown_key_is_not_verified_by_either(files: Files) -> None:
    head = files.head("head.json", 5, kid="someone-else")
    args: list[str | Path] = ["tree-head", "--jwks", files.dir / "jwks.json", head]
    tool, module = run_tool(*args), run_module(*args)
    assert tool.returncode == module.returncode == 1
    assert tool.stderr == module.stderr


CONSISTENCY_CASES = {
    "consistent": lambda f, m, n: consistency_proof(m, n, f.source),
    "a forged proof": lambda f, m, n: [bytes(32), *consistency_proof(m, n, f.source)[1:]],
    "an empty proof": lambda f, m, n: [],
}


@pytest.mark.parametrize("case", list(CONSISTENCY_CASES))
@pytest.mark.parametrize(("m", "n"), [(3, 11), (4, 11), (1, 2), (6, 7)])
def test_consistency_verdicts_are_the_same(files: Files, case: str, m: int, n: int) -> None:
    old, new = files.head("old.json", m), files.head("new.json", n)
    proof = [b64(h) for h in CONSISTENCY_CASES[case](files, m, n)]
    path = files.write("proof.json", json.dumps({"first": m, "second": n, "proof": proof}))
    args: list[str | Path] = ["consistency", "--jwks", files.dir / "jwks.json", old, new, path]
    tool, module = run_tool(*args), run_module(*args)
    assert (tool.returncode, tool.stdout, tool.stderr) == (
        module.returncode,
        module.stdout,
        module.stderr,
    )
    assert tool.returncode == (0 if case == "consistent" else 1)


def test_consistency_between_a_forged_new_head_and_an_old_one_fails_in_both(files: Files) -> None:
    old, new = files.head("old.json", 4), files.head("new.json", 9, forge=True)
    proof = [b64(h) for h in consistency_proof(4, 9, files.source)]
    path = files.write("proof.json", json.dumps({"first": 4, "second": 9, "proof": proof}))
    args: list[str | Path] = ["consistency", "--jwks", files.dir / "jwks.json", old, new, path]
    tool, module = run_tool(*args), run_module(*args)
    assert tool.returncode == module.returncode == 1
    assert tool.stderr == module.stderr
