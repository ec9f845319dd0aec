"""Download an export as a regulator would, and run the verifiers on it as a stranger would."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.test import Client

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "tahto_verify.py"


@dataclass
class Export:
    dir: Path
    head: Path
    jwks: Path
    entries: Path

    def lines(self) -> list[str]:
        return self.entries.read_text(encoding="utf-8").splitlines(keepends=True)

    def write(self, lines: list[str], name: str = "tampered.jsonl") -> Path:
        path = self.dir / name
        path.write_text("".join(lines), encoding="utf-8")
        return path


def download(client: Client, tmp: Path, fmt: str = "jsonl", **params: Any) -> Export:
    response = client.get(f"/regulator/export/entries.{fmt}", params)
    assert response.status_code == 200, response.content
    size = int(response["X-Tahto-Tree-Size"])
    entries = tmp / f"export.{fmt}"
    entries.write_bytes(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    head = tmp / "head.json"
    head.write_text(client.get(f"/regulator/api/tree-heads/{size}").content.decode())
    jwks = tmp / "jwks.json"
    jwks.write_text(client.get("/regulator/api/jwks.json").content.decode())
    return Export(tmp, head, jwks, entries)


def run_tool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """tools/tahto_verify.py in an isolated interpreter: no project code on its path."""
    return subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, "-I", str(TOOL), *map(str, args)],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_module(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """python -m consents.verify, the project's own stand-alone verifier."""
    return subprocess.run(  # noqa: S603 - our interpreter, our module
        [sys.executable, "-m", "consents.verify", *map(str, args)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def inclusion(runner: Any, export: Export, entries: Path | None = None, *extra: str) -> Any:
    return runner(
        "inclusion", "--head", export.head, "--jwks", export.jwks, *extra, entries or export.entries
    )


def edit_entry(line: str, **changes: Any) -> str:
    """Change fields inside the entry's canonical JSON text, keeping it a JSON line."""
    obj = json.loads(line)
    entry = json.loads(obj["entry"])
    entry.update(changes)
    obj["entry"] = json.dumps(entry, separators=(",", ":"), sort_keys=True)
    return json.dumps(obj) + "\n"
