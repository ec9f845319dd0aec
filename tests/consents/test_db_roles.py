"""Which database each process connects as: migrations as the owner, the service as its role."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def connects_as(**env: str) -> str:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['USER'])"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed snippet
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "mydata_operator.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_migrations_connect_as_the_owner_and_the_service_as_its_role(tmp_path: Path) -> None:
    urls = {
        "DATABASE_URL": "postgres://tahto_service:pw@127.0.0.1:5432/tahto",
        "DATABASE_OWNER_URL": "postgres://tahto_owner@127.0.0.1:5432/tahto",
        "TAHTO_VAR_DIR": str(tmp_path),
    }
    assert connects_as(**urls) == "tahto_service"
    assert connects_as(**urls, TAHTO_DB_AS_OWNER="1") == "tahto_owner"
    # Without an owner URL there is one role for both.
    alone = {k: v for k, v in urls.items() if k != "DATABASE_OWNER_URL"}
    assert connects_as(**alone, TAHTO_DB_AS_OWNER="1") == "tahto_service"


def test_db_roles_on_the_embedded_database_has_nothing_to_do(db: Any) -> None:
    from django.db import connection

    out = StringIO()
    call_command("db_roles", stdout=out)
    if connection.vendor == "sqlite":
        assert "embedded SQLite: there are no database roles" in out.getvalue()
    else:  # on PostgreSQL the test connects as the owner, and says so
        assert "the owner of the tables" in out.getvalue()
