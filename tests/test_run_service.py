"""`bin/run-service` (what `make run` starts): every file under TAHTO_VAR_DIR, even outside the
repository and not yet existing, and a background process that dies at start stops the
script with a message and a non-zero status instead of "started"."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.fixtures.live import ROOT, free_port

SCRIPT = ROOT / "bin" / "run-service"


def _env(var: Path, port: int, kanta_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mydata_operator.settings",
        "TAHTO_VAR_DIR": str(var),
        "TAHTO_KEY_DIR": str(var / "keys"),
        "DATABASE_URL": f"sqlite:///{var / 'tahto.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "TAHTO_PORT": str(port),
        "TAHTO_KANTA_PORT": str(kanta_port),
        "TAHTO_KANTA_URL": f"http://127.0.0.1:{kanta_port}/fhir",
        "TAHTO_START_SECONDS": "4",
        "PYTHONUNBUFFERED": "1",
    }


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    return out


def test_a_process_that_dies_at_start_fails_the_script_loudly(tmp_path: Path) -> None:
    var = tmp_path / "var"
    with socket.socket() as taken:  # the Kanta stand-in's port is in use: it cannot start
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = _env(var, free_port(), int(taken.getsockname()[1]))
        done = subprocess.run(  # noqa: S603 - the script under test
            [str(SCRIPT)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            start_new_session=True,
            check=False,
        )
    assert done.returncode != 0
    assert "ERROR: Kanta stand-in did not start" in done.stderr
    assert "Kanta stand-in started" not in done.stdout
    assert "Tahto is at" not in done.stdout
    assert var.is_dir()  # created by the script


def test_every_file_goes_under_a_var_dir_outside_the_repository(tmp_path: Path) -> None:
    var = tmp_path / "not-yet" / "var"
    env = _env(var, free_port(), free_port())
    var.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    said = tmp_path / "run-service.out"
    with said.open("w") as sink:
        proc = subprocess.Popen(  # noqa: S603 - the script under test
            [str(SCRIPT)],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        # Wait for the script to say the whole service is up (or to give up), however slow
        # a loaded machine makes the worker's start: the script itself waits for readiness.
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and proc.poll() is None:
            if "Tahto is at" in said.read_text():
                break
            time.sleep(0.3)
        assert proc.poll() is None, said.read_text()
        assert "Tahto is at" in said.read_text()
    finally:
        _stop(proc)
    out = said.read_text()
    for name in ("kanta.log", "worker.log", "integrator.log"):
        assert (var / name).exists(), name
    assert (var / "kanta").is_dir()
    assert "Celery worker started" in out and "Log integrator started" in out
    assert f"log {var}/worker.log" in out
