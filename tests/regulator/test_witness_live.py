"""A regulator's witness against the real service over HTTP: it cosigns successive
checkpoints, the operator publishes the cosignatures, and a rolled-back log is refused by the
witness and noticed by verify_log.

Runs on the embedded database in `make test` and on PostgreSQL in `make test-services`.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test.testcases import LiveServerThread, _StaticFilesHandler

from consents import checkpoint as cp
from consents import log as consent_log
from consents import witnesses
from consents.models import Cosignature
from tests.conftest import grant
from tests.regulator import attacks
from tests.regulator.conftest import Tamper
from tests.regulator.exports import run_tool

NAME = "valvira.example/witness"


@dataclass
class Served:
    url: str


@pytest.fixture
def served(committed_db: None) -> Iterator[Served]:
    """The service over HTTP in a thread, on this test's committed database."""
    overrides = {}
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        # The thread must use this very connection to see the same in-memory database.
        overrides[connection.alias] = connections[connection.alias]
        connections[connection.alias].inc_thread_sharing()
    thread = LiveServerThread("127.0.0.1", _StaticFilesHandler, overrides, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield Served(f"http://127.0.0.1:{thread.port}")
    finally:
        thread.terminate()
        if overrides:
            connections[connection.alias].dec_thread_sharing()


@pytest.fixture
def witness_vkey(tmp_path: Path, committed_db: None) -> str:
    made = run_tool("witness-key", "--name", NAME, "--key", tmp_path / "witness.pem")
    assert made.returncode == 0, made.stderr
    vkey = made.stdout.strip()
    call_command("witness_register", vkey, "--label", "Valvira")
    return vkey


def run_witness(served: Served, tmp_path: Path) -> Any:
    return run_tool(
        "witness",
        "--log",
        served.url,
        "--log-key",
        witnesses.log_vkey(),
        "--name",
        NAME,
        "--key",
        tmp_path / "witness.pem",
        "--state",
        tmp_path / "witness.note",
    )


def test_witness_cosigns_successive_checkpoints_of_the_live_service(
    served: Served, tmp_path: Path, witness_vkey: str, populated: int, citizen: Any
) -> None:
    first = run_witness(served, tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"cosigned the checkpoint of size {populated}" in first.stdout
    grant(citizen, "biobank")
    consent_log.log_integrate()
    second = run_witness(served, tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"consistent with size {populated} cosigned before" in second.stdout
    sizes = sorted(Cosignature.objects.values_list("tree_size", flat=True))
    assert sizes == [populated, populated + 1]
    # The published checkpoint carries the witness's cosignature, verifiable by anyone.
    note = cp.parse_note(run_checkpoint(served))
    verifier = cp.parse_vkey(witness_vkey, sig_type=cp.SIG_COSIGNATURE_V1)
    assert cp.parse_checkpoint(note.text).size == populated + 1
    assert any(cp.verify_cosignature(note.text, s, verifier) for s in note.signatures)


def run_checkpoint(served: Served) -> str:
    import urllib.request

    with urllib.request.urlopen(f"{served.url}/api/v1/log/checkpoint") as response:  # noqa: S310
        return str(response.read().decode())


def test_rolled_back_log_is_refused_by_the_witness_and_noticed_by_verify_log(
    served: Served, tmp_path: Path, witness_vkey: str, populated: int, attacker: Tamper
) -> None:
    assert run_witness(served, tmp_path).returncode == 0
    attacks.truncate_tail(attacker)
    refused = run_witness(served, tmp_path)
    assert refused.returncode == 1
    assert f"smaller than the checkpoint of size {populated}" in refused.stderr
    assert "rolled back" in refused.stderr
    with pytest.raises(CommandError, match="the log is shorter than a checkpoint a witness"):
        call_command("verify_log")
