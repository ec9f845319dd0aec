"""`tahto_verify.py witness` against a log it cannot trust, over real HTTP.

A small log server in this process serves whatever checkpoints and proofs a test gives it
(made with the project's own Merkle and checkpoint code); the witness runs as a separate,
isolated process with its own key and state file. It must cosign only checkpoints that
extend what it cosigned before, and say why it refuses anything else.
"""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consents import checkpoint as cp
from consents import merkle
from tests.regulator.exports import run_tool

ORIGIN = "log.example/consent-log"


@dataclass
class FakeLog:
    """What the log server serves: a history of entries, and how it misbehaves."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    entries: list[bytes] = field(default_factory=list)
    note_override: str | None = None
    posted: list[str] = field(default_factory=list)
    refuse_post: bool = False

    def grow(self, n: int, tag: str = "e") -> None:
        start = len(self.entries)
        self.entries += [f"{tag}{start + i}".encode() for i in range(n)]

    def source(self) -> merkle.ListSource:
        return merkle.ListSource.from_entries(self.entries)

    def note(self) -> str:
        if self.note_override is not None:
            return self.note_override
        text = cp.checkpoint_text(
            cp.Checkpoint(ORIGIN, len(self.entries), merkle.root_hash(self.source(), len(self)))
        )
        return cp.format_note(text, [cp.sign_note(text, ORIGIN, self.key)])

    def __len__(self) -> int:
        return len(self.entries)

    def vkey(self) -> str:
        return cp.vkey(ORIGIN, self.key.public_key())


@pytest.fixture
def log() -> Iterator[tuple[FakeLog, str]]:
    fake = FakeLog()
    fake.grow(5)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def _send(self, status: int, body: str, ctype: str = "application/json") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/api/v1/log/checkpoint":
                self._send(200, fake.note(), "text/plain; charset=utf-8")
            elif url.path == "/api/v1/log/proofs/consistency":
                q = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
                if not 0 <= q["first"] <= q["second"] <= len(fake):
                    self._send(400, json.dumps({"title": "The proof cannot be made."}))
                    return
                proof = merkle.consistency_proof(q["first"], q["second"], fake.source())
                body = {**q, "consistency_proof": [cp.base64.b64encode(h).decode() for h in proof]}
                self._send(200, json.dumps(body))
            else:
                self._send(404, "{}")

        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            if fake.refuse_post:
                self._send(403, json.dumps({"detail": "cosignature by an unknown key"}))
                return
            fake.posted.append(body["checkpoint"])
            self._send(201, json.dumps({"stored": 1}))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Witness:
    dir: Path
    url: str
    log: FakeLog
    name: str = "regulator.example/w1"

    def run(self, *extra: str, log_key: str | None = None) -> Any:
        return run_tool(
            "witness",
            "--log",
            self.url,
            "--log-key",
            log_key or self.log.vkey(),
            "--name",
            self.name,
            "--key",
            self.dir / "witness.pem",
            "--state",
            self.dir / "state.note",
            *extra,
        )

    @property
    def state(self) -> Path:
        return self.dir / "state.note"


@pytest.fixture
def witness(log: tuple[FakeLog, str], tmp_path: Path) -> Witness:
    fake, url = log
    made = run_tool("witness-key", "--name", "regulator.example/w1", "--key", tmp_path / "w.pem")
    assert made.returncode == 0, made.stderr
    (tmp_path / "w.pem").rename(tmp_path / "witness.pem")
    return Witness(tmp_path, url, fake)


def witness_vkey(w: Witness) -> cp.Verifier:
    shown = run_tool("witness-key", "--name", w.name, "--key", w.dir / "witness.pem")
    return cp.parse_vkey(shown.stdout.strip(), sig_type=cp.SIG_COSIGNATURE_V1)


def test_witness_key_is_made_once_and_printed_as_a_cosignature_vkey(tmp_path: Path) -> None:
    first = run_tool("witness-key", "--name", "valvira.example/w", "--key", tmp_path / "k.pem")
    again = run_tool("witness-key", "--name", "valvira.example/w", "--key", tmp_path / "k.pem")
    assert first.returncode == 0 and first.stdout == again.stdout
    verifier = cp.parse_vkey(first.stdout.strip(), sig_type=cp.SIG_COSIGNATURE_V1)
    assert verifier.name == "valvira.example/w"
    assert (tmp_path / "k.pem").stat().st_mode & 0o077 == 0


def test_witness_cosigns_two_successive_checkpoints(witness: Witness) -> None:
    first = witness.run()
    assert first.returncode == 0, first.stderr
    assert "cosigned the checkpoint of size 5" in first.stdout
    assert "first checkpoint seen" in first.stdout
    witness.log.grow(6)
    second = witness.run()
    assert second.returncode == 0, second.stderr
    assert "size 11" in second.stdout and "consistent with size 5" in second.stdout
    # Each posted note carries the log's signature and a valid cosignature of that checkpoint.
    own = witness_vkey(witness)
    for note, size in zip(witness.log.posted, (5, 11), strict=True):
        parsed = cp.parse_note(note)
        assert cp.parse_checkpoint(parsed.text).size == size
        log_verifier = cp.parse_vkey(witness.log.vkey())
        assert cp.verify_note_signature(parsed.text, parsed.signatures[0], log_verifier)
        assert cp.verify_cosignature(parsed.text, parsed.signatures[1], own) is not None
    assert witness.state.read_text() == witness.log.posted[-1]


def test_witness_refuses_a_forked_checkpoint(witness: Witness) -> None:
    assert witness.run().returncode == 0
    forked = FakeLog(key=witness.log.key)
    forked.grow(2)
    forked.grow(7, tag="x")  # the same first two entries, then another history
    witness.log.entries = forked.entries
    refused = witness.run()
    assert refused.returncode == 1
    assert "refused: fork" in refused.stderr
    assert "does not extend the checkpoint of size 5" in refused.stderr
    assert "verified" not in refused.stdout + refused.stderr
    assert len(witness.log.posted) == 1  # nothing cosigned
    assert cp.parse_checkpoint(cp.parse_note(witness.state.read_text()).text).size == 5


def test_witness_refuses_a_different_root_at_the_same_size(witness: Witness) -> None:
    assert witness.run().returncode == 0
    witness.log.entries = [b"other" + e for e in witness.log.entries]
    refused = witness.run()
    assert refused.returncode == 1
    assert "fork: the checkpoint of size 5 has another root hash" in refused.stderr


def test_witness_refuses_a_smaller_checkpoint(witness: Witness) -> None:
    assert witness.run().returncode == 0
    witness.log.entries = witness.log.entries[:3]
    refused = witness.run()
    assert refused.returncode == 1
    assert "smaller than the checkpoint of size 5" in refused.stderr
    assert "rolled back" in refused.stderr


def test_witness_refuses_a_checkpoint_signed_by_another_key(witness: Witness) -> None:
    impostor = FakeLog(entries=list(witness.log.entries))
    witness.log.note_override = impostor.note()  # same name, another key: another key id
    refused = witness.run()
    assert refused.returncode == 1
    assert "is not signed by the log's key" in refused.stderr
    assert not witness.state.exists()


def test_witness_refuses_a_forged_signature(witness: Witness) -> None:
    note = witness.log.note()
    text = cp.parse_note(note).text
    witness.log.note_override = note.replace(text, text.replace("\n5\n", "\n6\n"))
    refused = witness.run()
    assert refused.returncode == 1
    assert "does not verify (forged)" in refused.stderr


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("just text\n", "no blank line"),
        (f"{ORIGIN}\n5\nnot-base64\n\n\u2014 {ORIGIN} AAAAAAAA\n", "root hash is not standard"),
        (f"{ORIGIN}\n-1\nAAAA\n\n\u2014 {ORIGIN} AAAAAAAA\n", "not a decimal number"),
    ],
)
def test_witness_refuses_a_malformed_checkpoint(witness: Witness, note: str, message: str) -> None:
    witness.log.note_override = note
    refused = witness.run()
    assert refused.returncode == 1
    assert "the checkpoint is malformed" in refused.stderr and message in refused.stderr


def test_tampered_state_file_is_a_clear_error(witness: Witness) -> None:
    assert witness.run().returncode == 0
    state = witness.state.read_text()
    # Roll the witness's memory back to a smaller size, keeping the signature lines.
    text = cp.parse_note(state).text
    smaller = cp.checkpoint_text(
        cp.Checkpoint(ORIGIN, 2, merkle.root_hash(witness.log.source(), 2))
    )
    witness.state.write_text(state.replace(text, smaller))
    failed = witness.run()
    assert failed.returncode == 2
    assert "was tampered with" in failed.stderr
    assert "verified" not in failed.stdout + failed.stderr
    witness.state.write_text("garbage")
    assert "tampered with or damaged" in witness.run().stderr


def test_state_cosigned_by_another_witness_is_refused(witness: Witness, tmp_path: Path) -> None:
    assert witness.run().returncode == 0
    other = Witness(tmp_path / "other", witness.url, witness.log)
    other.dir.mkdir()
    assert run_tool("witness-key", "--name", other.name, "--key", other.dir / "witness.pem")
    other.state.write_text(witness.state.read_text())
    failed = other.run()
    assert failed.returncode == 2 and "was tampered with" in failed.stderr


def test_log_that_refuses_the_cosignature_is_reported(witness: Witness) -> None:
    witness.log.refuse_post = True
    failed = witness.run()
    assert failed.returncode == 1
    assert "the log refused the cosignature of size 5" in failed.stderr
    assert "unknown key" in failed.stderr


def test_bad_log_key_is_bad_input(witness: Witness) -> None:
    failed = witness.run(
        log_key="PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    )
    assert failed.returncode == 2 and "does not match the key" in failed.stderr
