"""Single use of a JWT's `jti` (client JWTs, DPoP proofs): one statement, no savepoint.

`INSERT … ON CONFLICT DO NOTHING` (PostgreSQL and SQLite alike) inserts the pair or, if it is
already there, nothing; the row count says which. This keeps the refusal of a replay exact
across processes without a savepoint around an expected IntegrityError, which would cost two
extra statements on every data call."""

from typing import Any

from django.db import connection, models


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
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING",  # noqa: S608 - names from the model
            params,
        )
        return cursor.rowcount == 1
