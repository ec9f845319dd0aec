"""Django's PostgreSQL backend, but a kept connection is health-checked (`SELECT 1`) before a
request uses it only when it has been idle for TAHTO_DB_HEALTH_CHECK_IDLE_SECONDS or more.

Django's `CONN_HEALTH_CHECKS` costs a round trip at the start of every request: on a loaded
two-core machine a tenth of a token introspection. A connection that served a query a moment
ago is checked by that query; one that has been idle (when a server restart most likely went
unnoticed) is checked as Django does. If the server restarts while connections are busy, the
next request on each of them fails once (a 500, nothing written), and Django closes the
connection after it, as it does after any error on a connection that is no longer usable.
"""

import time
from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):  # type: ignore[misc]
    _tahto_used_at = 0.0  # when this connection last gave a cursor (time.monotonic)

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and time.monotonic() - self._tahto_used_at < settings.TAHTO_DB_HEALTH_CHECK_IDLE_SECONDS
        ):
            self.health_check_done = True  # it answered a moment ago
            return
        super().close_if_health_check_failed()

    def _cursor(self, name: str | None = None) -> Any:
        cursor = super()._cursor(name)
        self._tahto_used_at = time.monotonic()
        return cursor
