"""Single use of a JWT's `jti` (client JWTs, DPoP proofs): one statement, no savepoint.

`INSERT … ON CONFLICT DO NOTHING` (PostgreSQL and SQLite alike) inserts the pair or, if it is
already there, nothing; the row count says which. This keeps the refusal of a replay exact
across processes without a savepoint around an expected IntegrityError, which would cost two
extra statements on every data call.

Outside a transaction, on PostgreSQL, the statement commits asynchronously (`replay_statement`):
it does not wait for its WAL record to reach the disk, which was half its time. Other
processes see the row at once, as with any commit; only a crash of the database server can
forget the records of its last moments (at most three `wal_writer_delay`s, 0.6 s by default),
so a JWT used in those moments could be used once more after the restart, within its own
short lifetime (docs/security.md, "Replay of a JWT after a database crash"). Inside a
caller's transaction the record commits with that transaction, as it did before: a logged
decision's commit never becomes asynchronous.
"""

from typing import Any

from django.db import connection, models

_ASYNC_COMMIT = "SET LOCAL synchronous_commit TO off; "


def replay_statement(sql: str) -> tuple[str, bool]:
    """The statement to send for a replay record, and whether it is prefixed with the
    asynchronous commit (then the caller's cursor must skip that first result: `nextset`).
    Prefixed only on PostgreSQL outside a transaction, where the two statements of one
    message run as one implicit transaction, so `SET LOCAL` ends with it."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _ASYNC_COMMIT + sql, True
    return sql, False


def first_use(model: type[models.Model], **values: Any) -> bool:
    """Insert one row of `model`; False if its unique constraint already holds these values."""
    fields = [model._meta.get_field(name) for name in values]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)  # type: ignore[union-attr]
    params = [
        f.get_db_prep_value(  # type: ignore[union-attr]
            v.pk if isinstance(v := values[f.name], models.Model) else v, connection
        )
        for f in fields
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    marks = ", ".join(["%s"] * len(fields))
    sql, prefixed = replay_statement(
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608 - names from the model
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if prefixed:
            cursor.nextset()
        return cursor.rowcount == 1
