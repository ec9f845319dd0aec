"""Benchmarks of the consent core: log appends, proofs, decisions. Run by `make bench`.

Each run builds a throwaway test database (SQLite by default, or whatever DATABASE_URL
names), measures, and writes docs/benchmarks/results.json. Numbers are wall-clock on the
machine it runs on; docs/benchmarks.md summarises them. Never part of `make test`.

    make bench                      # default sizes
    BENCH_LOG_SIZE=200000 make bench
"""

import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mydata_operator.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

LOG_SIZE = int(os.environ.get("BENCH_LOG_SIZE", "20000"))
BATCH = 500


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def bench_log_appends() -> dict[str, Any]:
    from consents.events import EventType
    from consents.log import log_append

    single = []
    for i in range(500):
        start = time.perf_counter()
        with transaction.atomic():
            log_append(event_type=EventType.DECISION_DENY, body={"bench": i})
        single.append(time.perf_counter() - start)
    start = time.perf_counter()
    done = 500
    while done < LOG_SIZE:
        with transaction.atomic():
            for _ in range(min(BATCH, LOG_SIZE - done)):
                log_append(event_type=EventType.DECISION_PERMIT, body={"bench": done})
                done += 1
    batched = time.perf_counter() - start
    return {
        "one_append_per_transaction_per_s": round(len(single) / sum(single), 1),
        "one_append_p50_ms": round(statistics.median(single) * 1000, 3),
        "batched_appends_per_s": round((LOG_SIZE - 500) / batched, 1),
        "log_size": LOG_SIZE,
    }


def bench_proofs() -> dict[str, Any]:
    from django.db import reset_queries

    from consents import log

    size = log.log_head().size
    seqs = [0, size // 3, size // 2, size - 1]
    reset_queries()
    inclusion = timed(lambda: [log.inclusion_proof(seq=s, tree_size=size) for s in seqs], 5)
    consistency = timed(lambda: log.consistency_proof(first=size // 3 + 1, second=size), 5)
    sign = timed(lambda: log.tree_head_sign(), 1)
    return {
        "tree_size": size,
        "inclusion_proof_ms": round(statistics.median(inclusion) / len(seqs) * 1000, 3),
        "consistency_proof_ms": round(statistics.median(consistency) * 1000, 3),
        "tree_head_sign_ms": round(sign[0] * 1000, 3),
    }


def bench_decide() -> dict[str, Any]:
    from consents.models import Consent
    from consents.policy import DecisionRequest, Flow, Recipient, decide

    now = datetime(2026, 3, 2, tzinfo=UTC)
    subject = uuid.uuid4()
    consents = []
    for i in range(10):
        cid = uuid.uuid4()
        consents.append(
            Consent(
                id=cid,
                lineage=cid,
                version=1,
                kind="provider-sharing",
                subject_id=subject,
                status="active",
                provision="permit",
                valid_from=now - timedelta(days=1),
                valid_until=None,
                created_at=now - timedelta(days=i),
                updated_at=now,
                scope={
                    "recipient": {"organisation": f"1.2.246.10.{i}"},
                    "dataCategories": ["conditions"],
                    "purpose": "care",
                },
            )
        )
    request = DecisionRequest(
        subject_id=subject,
        flow=Flow.PROVIDER_ACCESS,
        recipient=Recipient(organisation="1.2.246.10.9"),
        at=now,
        purpose="care",
        data_categories=frozenset({"conditions"}),
    )
    n = 20000
    start = time.perf_counter()
    for _ in range(n):
        decide(request, consents)
    return {"pure_decide_per_s": round(n / (time.perf_counter() - start), 1), "consents": 10}


def main() -> None:
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        results = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": connection.vendor,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "log_appends": bench_log_appends(),
            "proofs": bench_proofs(),
            "decide": bench_decide(),
        }
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    out = ROOT / "docs" / "benchmarks" / f"results-{results['database']}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
