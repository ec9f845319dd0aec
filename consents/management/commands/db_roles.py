"""`manage.py db_roles`: the service's PostgreSQL role, which may only read and append the log.

Run as the owner of the tables (the role migrations run as: DATABASE_OWNER_URL with
TAHTO_DB_AS_OWNER=1, as `make migrate` does). Creates the service role named in DATABASE_URL
if it is missing, takes away every power it must not have (superuser, creating roles or
databases, replication, bypassing row security), and grants it SELECT, INSERT, UPDATE and
DELETE on the ordinary tables but only SELECT and INSERT on the append-only tables of
`consents.append_only`. Not the owner, it cannot drop or disable the triggers either, and not
a superuser, it cannot SET session_replication_role. Idempotent: run it after every migrate.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from consents.append_only import APPEND_ONLY_TABLES


def _existing(tables: tuple[str, ...]) -> list[str]:
    present = set(connection.introspection.table_names())
    return [t for t in tables if t in present]


class Command(BaseCommand):
    help = (
        "Create (or correct) the service's PostgreSQL role named in DATABASE_URL: login only, "
        "SELECT and INSERT on the append-only log tables, no UPDATE/DELETE/TRUNCATE there, "
        "not the owner, not a superuser. Run as the owner; idempotent."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--role", help="the service role (default: the user of DATABASE_URL)")
        parser.add_argument("--password", help="its password (default: from DATABASE_URL)")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("embedded SQLite: there are no database roles to set up")
            return
        service = settings.TAHTO_SERVICE_DATABASE
        role = options["role"] or service.get("USER") or ""
        password = (
            options["password"] if options["password"] is not None else service.get("PASSWORD")
        )
        owner = connection.settings_dict["USER"]
        if not role:
            raise CommandError("no service role: give --role or a user in DATABASE_URL")
        if role == owner:
            self.stdout.write(
                f"the service connects as {owner!r}, the owner of the tables: set "
                "DATABASE_OWNER_URL for migrations and a separate role in DATABASE_URL "
                "(see README, Database roles)"
            )
            return
        ident = sql.Identifier(role)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
                self.stdout.write(f"created role {role}")
            cursor.execute(
                sql.SQL(
                    "ALTER ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                    "NOBYPASSRLS"
                ).format(ident)
            )
            if password:
                cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(ident), [password])
            cursor.execute(
                "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
                [role],
            )
            for (granted,) in cursor.fetchall():
                cursor.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(granted), ident))
                self.stdout.write(f"revoked membership of {granted} from {role}")
            database = sql.Identifier(connection.settings_dict["NAME"])
            cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, ident))
            cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
            cursor.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(ident))
            cursor.execute(
                sql.SQL(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
                ).format(ident)
            )
            cursor.execute(
                sql.SQL(
                    "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {}"
                ).format(ident)
            )
            cursor.execute(
                sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(ident)
            )
            append_only = _existing(APPEND_ONLY_TABLES)
            for table in append_only:
                table_ident = sql.Identifier(table)
                cursor.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(table_ident, ident))
                cursor.execute(
                    sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(table_ident, ident)
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"role {role}: SELECT and INSERT only on {len(append_only)} append-only tables "
                f"({', '.join(append_only)}); SELECT, INSERT, UPDATE, DELETE on the others; "
                f"not a superuser, not the owner ({owner})"
            )
        )
