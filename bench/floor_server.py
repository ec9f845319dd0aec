"""The web service as `make bench` starts it, except that the two statements of a token
introspection are answered from memory after their first real answer: the client's key check
with its `jti` record (`client_keys._confirm_and_record`) and the token's facts
(`binding.token_facts`). Everything else runs as in service: the client JWT is parsed and
its signature verified, the lockout is asked, the consent is decided on, the answer is written.

Two modes:

- `none`: no database statement at all. The floor: how fast introspection could be if
  nothing were asked of a shared store, which no cache can beat.
- `jti`: only the client JWT's `jti` is recorded, as the service records it
  (`security.replay.first_use`, one `INSERT … ON CONFLICT DO NOTHING` committed
  asynchronously): the one write the single-use rule of RFC 7523 and FAPI 2.0 needs on every
  call, whatever else is cached.

`bench/serving.py` starts it after its main runs (BENCH_FLOOR=0 leaves it out) and measures
introspection against the trivial endpoint of this same server. A measuring tool only: it
never notices a retired key or a revoked token (and in `none` mode a replayed JWT), so it is
never a way to run the service.

    python bench/floor_server.py <host:port> <threads> none|jti
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mydata_operator.settings")


def _remember_first_answers(mode: str) -> None:
    from mydata_operator.provider_api import binding, client_keys
    from mydata_operator.provider_api.models import ClientJwtUse
    from mydata_operator.security.replay import first_use

    lock = threading.Lock()
    confirmed: dict[tuple[int, str], Any] = {}
    facts: dict[str, Any] = {}
    confirm, read_facts = client_keys._confirm_and_record, binding.token_facts

    def confirm_once(key: Any, *, jti: str, expires_at: Any) -> Any:
        which = (key.application_id, key.kid)
        with lock:
            if which not in confirmed:  # the first answer is the real one (jti recorded)
                confirmed[which] = confirm(key, jti=jti, expires_at=expires_at)
                return confirmed[which]
        in_force, _fresh, application, provider = confirmed[which]
        if mode == "jti":
            fresh = first_use(
                ClientJwtUse, application=key.application_id, jti=jti, expires_at=expires_at
            )
            return in_force, fresh, application, provider
        return confirmed[which]

    def facts_once(value: str) -> Any:
        with lock:
            if value not in facts:
                facts[value] = read_facts(value)
            return facts[value]

    client_keys._confirm_and_record = confirm_once  # type: ignore[assignment]
    binding.token_facts = facts_once  # type: ignore[assignment]


def main() -> None:
    listen, threads, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode not in ("none", "jti"):
        sys.exit(f"mode must be none or jti, not {mode!r}")
    from waitress import serve  # type: ignore[import-untyped]

    from mydata_operator.wsgi import application  # sets Django up

    _remember_first_answers(mode)
    serve(application, listen=listen, threads=threads)


if __name__ == "__main__":
    main()
