"""CELERY_TASK_QUEUE_TYPE: the task queues as RabbitMQ quorum queues, or a clear refusal.

Settings are read once per process, so each case runs a fresh interpreter."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRINT_QUEUES = (
    "import django; django.setup()\n"
    "from mydata_operator.celery import app\n"
    "q = app.amqp.queues[app.conf.task_default_queue]\n"
    "print(q.name, q.queue_arguments, app.conf.task_create_missing_queue_type)\n"
)


def _run(queue_type: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mydata_operator.settings",
        "TAHTO_VAR_DIR": str(tmp_path),
        "CELERY_TASK_QUEUE_TYPE": queue_type,
    }
    return subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", PRINT_QUEUES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_quorum_declares_the_task_queue_as_a_quorum_queue(tmp_path: Path) -> None:
    out = _run("quorum", tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(" ", 1)[1].strip() == "{'x-queue-type': 'quorum'} quorum"


def test_classic_declares_no_queue_type(tmp_path: Path) -> None:
    out = _run("classic", tmp_path)
    assert out.returncode == 0, out.stderr
    assert "x-queue-type" not in out.stdout
    assert out.stdout.strip().endswith("classic")


def test_an_unknown_queue_type_is_refused_with_its_name(tmp_path: Path) -> None:
    out = _run("stream", tmp_path)
    assert out.returncode != 0
    assert "CELERY_TASK_QUEUE_TYPE must be classic or quorum, not 'stream'" in out.stderr
