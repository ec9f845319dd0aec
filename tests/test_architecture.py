"""The house stays as drawn: the import contracts of `make lint` hold, and they bite.

The contracts live in pyproject.toml (``[tool.importlinter]``): the layers
``mydata_operator -> connectors -> consents -> schemas``, the faces independent of each other,
no import cycles within a layer, the regulator's API not importing its views, and nothing
importing a stand-in of a national service.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mydata_operator", "connectors", "consents", "schemas")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the contracts of `root`/pyproject.toml on the packages found under `root`."""
    return subprocess.run(  # noqa: S603 - this environment's lint-imports, fixed arguments
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_code_keeps_every_import_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


@pytest.fixture
def house(tmp_path: Path) -> Path:
    """A copy of the Python packages and the contracts, to break on purpose."""
    skip = shutil.ignore_patterns("__pycache__", "static", "locale", "templates", "*.json")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _add_import(house: Path, module: str, statement: str) -> None:
    path = house / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{statement}\n")


@pytest.mark.parametrize(
    ("module", "statement", "broken"),
    [
        (
            "mydata_operator.dashboard.selectors",
            "from mydata_operator.regulator import filters",
            "mydata_operator.dashboard is not allowed to import mydata_operator.regulator",
        ),
        (
            "mydata_operator.regulator.selectors",
            "from mydata_operator.provider_api import binding",
            "mydata_operator.regulator is not allowed to import mydata_operator.provider_api",
        ),
        (
            "consents.policy",
            "from connectors import models",
            "consents.policy -> connectors.models",
        ),
        (
            "schemas.hetu",
            "from consents import states",
            "schemas.hetu -> consents.states",
        ),
        (
            "connectors.outbox",
            "from connectors import tasks",
            "No cycles are allowed in connectors.",
        ),
        (
            "mydata_operator.regulator.api",
            "from mydata_operator.regulator import views",
            "mydata_operator.regulator.api is not allowed to import "
            "mydata_operator.regulator.views",
        ),
        (
            "connectors.tasks",
            "from connectors.kanta import standin",
            "connectors.tasks is not allowed to import connectors.kanta.standin",
        ),
    ],
    ids=[
        "face-to-face",
        "face-to-face-2",
        "layer-upward",
        "layer-upward-2",
        "cycle",
        "api-view",
        "stand-in",
    ],
)
def test_lint_fails_when_a_contract_is_broken(
    house: Path, module: str, statement: str, broken: str
) -> None:
    assert lint_imports(house).returncode == 0  # the copy keeps them, as the code does
    _add_import(house, module, statement)
    result = lint_imports(house)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 broken" not in result.stdout
    assert broken in " ".join(result.stdout.split()), result.stdout
