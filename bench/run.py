"""Benchmarks of the consent core: log appends, proofs, decisions. Run by `make bench`.

Each run builds a throwaway test database (SQLite by default, or whatever DATABASE_URL
names), measures, and writes docs/benchmarks/results.json. Numbers are wall-clock on the
machine it runs on; docs/benchmarks.md summarises them. Never part of `make test`.

    make bench                      # default sizes
    BENCH_LOG_SIZE=200000 make bench
    BENCH_BULK_SIZE=1000000 make bench   # also proofs and searches on a log of a million
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
#: Entries bulk-loaded (bypassing log_append, for speed) before the at-scale measurements.
BULK_SIZE = int(os.environ.get("BENCH_BULK_SIZE", "0"))


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


def bulk_load(n: int) -> dict[str, Any]:
    """Grow the log by n decision entries with the same hashing as log_append, in batches.

    Benchmark-only: it writes rows directly (no row lock per entry), so that proofs and
    searches can be measured on a log of millions of entries in minutes.
    """
    import rfc8785

    from consents import merkle
    from consents.log import node_key
    from consents.models import LogEntry, LogHead, LogNode

    head, _ = LogHead.objects.get_or_create(id=1)
    frontier = [bytes.fromhex(h) for h in head.frontier]
    size = head.size
    subjects = [uuid.uuid4() for _ in range(1000)]
    at = datetime(2026, 3, 2, tzinfo=UTC)
    start = time.perf_counter()
    chunk = 20000
    while size < head.size + n:
        entries, nodes = [], []
        for _ in range(min(chunk, head.size + n - size)):
            subject = subjects[size % len(subjects)]
            body: dict[str, Any] = {
                "v": 1,
                "seq": size,
                "type": "decision.permit",
                "subject": str(subject),
                "time": at.isoformat(),
                "recipient": {"organisation": "1.2.246.10.1"},
            }
            raw = rfc8785.dumps(body)
            leaf = merkle.leaf_hash(raw)
            frontier, new = merkle.frontier_append(frontier, size, leaf)
            entries.append(
                LogEntry(
                    seq=size,
                    event_type="decision.permit",
                    occurred_at=at,
                    subject_id=subject,
                    recipient="1.2.246.10.1",
                    outcome="permit",
                    entry=raw.decode(),
                    leaf_hash=leaf,
                )
            )
            nodes += [LogNode(key=node_key(lv, ix), hash=h) for lv, ix, h in new]
            size += 1
        with transaction.atomic():
            LogEntry.objects.bulk_create(entries, batch_size=5000)
            LogNode.objects.bulk_create(nodes, batch_size=5000)
            LogHead.objects.filter(id=1).update(size=size, frontier=[h.hex() for h in frontier])
    return {"entries": n, "load_s": round(time.perf_counter() - start, 1), "subjects": 1000}


def bench_at_scale() -> dict[str, Any]:
    """Proofs and a regulator-style keyset page by subject on the bulk-loaded log."""
    from consents import log, merkle
    from consents.models import LogEntry

    head = log.log_head()
    size = head.size
    seqs = [1, size // 3, size // 2, size - 2]
    for seq in seqs:  # the bulk-loaded tree must be the one log_append would have built
        entry = LogEntry.objects.get(seq=seq).entry.encode()
        proof = log.inclusion_proof(seq=seq, tree_size=size)
        assert merkle.verify_entry_inclusion(entry, seq, size, proof, head.root_hash)
    inclusion = timed(lambda: [log.inclusion_proof(seq=s, tree_size=size) for s in seqs], 5)
    consistency = timed(lambda: log.consistency_proof(first=size // 3 + 1, second=size), 5)
    subject = LogEntry.objects.values_list("subject_id", flat=True).get(seq=size // 2)
    page = timed(
        lambda: list(
            LogEntry.objects.filter(subject_id=subject, seq__lt=size // 2 + 1).order_by("-seq")[:50]
        ),
        5,
    )
    return {
        "tree_size": size,
        "inclusion_proof_ms": round(statistics.median(inclusion) / len(seqs) * 1000, 3),
        "consistency_proof_ms": round(statistics.median(consistency) * 1000, 3),
        "subject_page_of_50_ms": round(statistics.median(page) * 1000, 3),
    }


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
        if BULK_SIZE:
            results["bulk_load"] = bulk_load(BULK_SIZE)
            results["at_scale"] = bench_at_scale()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    out = ROOT / "docs" / "benchmarks" / f"results-{results['database']}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
