"""Benchmarks of the consent core: the log's request path, its integrator, the merge delay,
proofs small and large, decisions. Run by `make bench`.

Each run builds a throwaway test database (SQLite by default, or whatever DATABASE_URL
names), measures, and writes docs/benchmarks/results-<database>.json. Numbers are wall-clock
on the machine it runs on; docs/benchmarks.md summarises them. Never part of `make test`.

    make bench                             # default sizes
    BENCH_BULK_SIZE=2000000 make bench     # also proofs and searches on a log of millions
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

import rfc8785  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from consents import merkle  # noqa: E402

#: Entries bulk-loaded (bypassing log_append, for speed) before the at-scale measurements.
BULK_SIZE = int(os.environ.get("BENCH_BULK_SIZE", "0"))
#: The small log the large one's proofs are compared with.
SMALL_SIZE = int(os.environ.get("BENCH_SMALL_SIZE", "1000"))
#: Integrator throughput: rounds of this many pending entries.
INTEGRATE_N = int(os.environ.get("BENCH_INTEGRATE_N", "20000"))
INTEGRATE_ROUNDS = int(os.environ.get("BENCH_INTEGRATE_ROUNDS", "5"))
#: Merge delay: appends per second, for how long.
MERGE_RATE = float(os.environ.get("BENCH_MERGE_RATE", "200"))
MERGE_SECONDS = float(os.environ.get("BENCH_MERGE_SECONDS", "30"))


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _percentiles(samples: list[float]) -> dict[str, float]:
    """Median and spread (10th and 90th percentile) in milliseconds."""
    q = statistics.quantiles(samples, n=10)
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 3),
        "p10_ms": round(q[0] * 1000, 3),
        "p90_ms": round(q[-1] * 1000, 3),
    }


def bench_log_appends() -> dict[str, Any]:
    """The request path: one log_append per transaction against a plain INSERT of the same
    row (same table, same indexes, values computed beforehand), interleaved in rounds so
    that both see the same machine; then appends from 4 threads at once."""
    import threading

    from consents.events import EventType
    from consents.log import entry_v2, log_append

    rounds, per_round = 10, 200
    append_t: list[float] = []
    plain_t: list[float] = []
    at = datetime(2026, 3, 2, tzinfo=UTC)
    subject = uuid.uuid4()
    for _round in range(rounds):
        for i in range(per_round):
            start = time.perf_counter()
            with transaction.atomic():
                log_append(
                    event_type=EventType.DECISION_DENY,
                    occurred_at=at,
                    subject_id=subject,
                    recipient="1.2.246.10.1",
                    outcome="deny",
                    body={"bench": i},
                )
            append_t.append(time.perf_counter() - start)
        # The same rows, their canonical text and hash computed beforehand: one INSERT each.
        rows = []
        for i in range(per_round):
            obj = entry_v2(
                event_type="decision.deny",
                occurred_at=at,
                subject_id=subject,
                actor_id=None,
                about={"recipient": "1.2.246.10.1", "outcome": "deny"},
                body={"bench": i},
            )
            raw = rfc8785.dumps(obj)
            rows.append((raw.decode(), merkle.leaf_hash(raw)))
        sql = (
            "INSERT INTO consents_logentry (event_type, occurred_at, subject_id, actor_id, "
            "consent_id, consent_lineage, kind, recipient, purpose, outcome, entry, leaf_hash) "
            "VALUES (%s, %s, %s, NULL, NULL, NULL, '', %s, '', %s, %s, %s) RETURNING id"
        )
        for text, leaf in rows:
            start = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql, ["decision.deny", at, subject, "1.2.246.10.1", "deny", text, leaf])
            plain_t.append(time.perf_counter() - start)

    def writer(n: int, out: list[float]) -> None:
        try:
            for i in range(n):
                start = time.perf_counter()
                with transaction.atomic():
                    log_append(event_type=EventType.DECISION_PERMIT, body={"t": i})
                out.append(time.perf_counter() - start)
        finally:
            connection.close()

    threads_n, each = 4, 500
    outs: list[list[float]] = [[] for _ in range(threads_n)]
    threads = [threading.Thread(target=writer, args=(each, outs[t])) for t in range(threads_n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {
        "append_per_transaction": _percentiles(append_t),
        "plain_insert_per_transaction": _percentiles(plain_t),
        "append_vs_plain_insert": round(
            statistics.median(plain_t) / statistics.median(append_t), 3
        ),
        "append_per_s": round(len(append_t) / sum(append_t), 1),
        "plain_insert_per_s": round(len(plain_t) / sum(plain_t), 1),
        "samples_each": len(append_t),
        "appends_4_threads_per_s": round(threads_n * each / wall, 1),
        "appends_4_threads": _percentiles([x for o in outs for x in o]),
    }


def _pending_rows(n: int, start: int) -> list[Any]:
    """n v2 entries made as log_append makes them, for bulk insertion."""
    from consents.log import entry_columns, entry_v2
    from consents.models import LogEntry

    at = datetime(2026, 3, 2, tzinfo=UTC)
    subjects = [uuid.uuid4() for _ in range(100)]
    rows = []
    for i in range(start, start + n):
        obj = entry_v2(
            event_type="decision.permit",
            occurred_at=at,
            subject_id=subjects[i % 100],
            actor_id=None,
            about={"recipient": "1.2.246.10.1", "outcome": "permit", "kind": "bench"},
            body={"bench": i},
        )
        raw = rfc8785.dumps(obj)
        rows.append(
            LogEntry(**entry_columns(obj), entry=raw.decode(), leaf_hash=merkle.leaf_hash(raw))
        )
    return rows


def bench_integrator() -> dict[str, Any]:
    """Integrator throughput: committed pending entries per second of log_integrate."""
    from consents.log import log_integrate
    from consents.models import LogEntry

    log_integrate()
    rates = []
    for r in range(INTEGRATE_ROUNDS):
        with transaction.atomic():
            LogEntry.objects.bulk_create(_pending_rows(INTEGRATE_N, r * INTEGRATE_N), 5000)
        start = time.perf_counter()
        done = log_integrate()
        elapsed = time.perf_counter() - start
        assert done == INTEGRATE_N, done
        rates.append(done / elapsed)
    return {
        "entries_per_round": INTEGRATE_N,
        "rounds": INTEGRATE_ROUNDS,
        "batch": 5000,
        "entries_per_s_median": round(statistics.median(rates), 1),
        "entries_per_s_min": round(min(rates), 1),
        "entries_per_s_max": round(max(rates), 1),
    }


def bench_merge_delay() -> dict[str, Any]:
    """Commit → published signed head, with `manage.py log_integrator` (its default 0.1 s
    poll) in its own process and appends paced at MERGE_RATE per second for MERGE_SECONDS.

    A watcher thread reads the head every 10 ms; an entry's delay is the time from its
    commit to the first moment a head covering its leaf was visible."""
    import subprocess
    import threading

    from consents.events import EventType
    from consents.log import log_append, log_head, log_integrate
    from consents.models import LogLeaf

    log_integrate()
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        return {"skipped": "the integrator process needs a database server (PostgreSQL)"}
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "log_integrator"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen: list[tuple[float, int]] = []
    stop = threading.Event()

    def watch() -> None:
        try:
            last = -1
            while not stop.is_set():
                size = log_head().size
                if size != last:
                    seen.append((time.perf_counter(), size))
                    last = size
                time.sleep(0.01)
        finally:
            connection.close()

    try:
        time.sleep(2)
        watcher = threading.Thread(target=watch)
        watcher.start()
        commits: dict[int, float] = {}
        n = int(MERGE_RATE * MERGE_SECONDS)
        t0 = time.perf_counter()
        for i in range(n):
            due = t0 + i / MERGE_RATE
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            with transaction.atomic():
                row = log_append(event_type=EventType.DECISION_PERMIT, body={"merge": i})
            commits[row.id] = time.perf_counter()
        achieved = n / (time.perf_counter() - t0)
        time.sleep(2)
    finally:
        stop.set()
        proc.terminate()
        proc.wait(timeout=30)
    watcher.join()
    seqs = dict(LogLeaf.objects.filter(entry_id__in=list(commits)).values_list("entry_id", "seq"))
    delays = []
    for entry_id, committed in commits.items():
        seq = seqs[entry_id]
        published = next(t for t, size in seen if size > seq)
        delays.append(published - committed)
    q = statistics.quantiles(delays, n=100)
    return {
        "appends": n,
        "target_per_s": MERGE_RATE,
        "achieved_per_s": round(achieved, 1),
        "delay_p50_ms": round(statistics.median(delays) * 1000, 1),
        "delay_p99_ms": round(q[98] * 1000, 1),
        "delay_max_ms": round(max(delays) * 1000, 1),
        "integrator_poll_s": 0.1,
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
    """Grow the log by n integrated entries with the same hashing as log_append and the
    integrator, in batches.

    Benchmark-only: it writes entries, leaves, nodes and one head row per chunk directly, so
    that proofs and searches can be measured on a log of millions of entries in minutes.
    """
    from consents.log import log_head, node_key
    from consents.models import LogBatch, LogEntry, LogLeaf, LogNode

    head = LogBatch.objects.order_by("-size").first()
    frontier = [bytes.fromhex(h) for h in head.frontier] if head else []
    size = start_size = head.size if head else 0
    start = time.perf_counter()
    chunk = 20000
    while size < start_size + n:
        count = min(chunk, start_size + n - size)
        entries = _pending_rows(count, size)
        with transaction.atomic():
            LogEntry.objects.bulk_create(entries, batch_size=5000)
            leaves, nodes = [], []
            for row in entries:
                leaf = bytes(row.leaf_hash)
                frontier, new = merkle.frontier_append(frontier, size, leaf)
                leaves.append(LogLeaf(seq=size, entry_id=row.id, leaf_hash=leaf))
                nodes += [LogNode(key=node_key(lv, ix), hash=h) for lv, ix, h in new]
                size += 1
            LogLeaf.objects.bulk_create(leaves, batch_size=5000)
            LogNode.objects.bulk_create(nodes, batch_size=5000)
            LogBatch.objects.create(
                size=size,
                entries=count,
                frontier=[h.hex() for h in frontier],
                root_hash=merkle.frontier_root(frontier, size),
                horizon=head.horizon if head else 0,
                integrated_at=datetime.now(UTC),
            )
    assert log_head().size == start_size + n
    loaded = time.perf_counter() - start
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:  # what autovacuum would do after such a load
            cur.execute("ANALYZE")
    return {"entries": n, "load_s": round(loaded, 1)}


def bench_at_scale() -> dict[str, Any]:
    """Proofs and a regulator-style keyset page by subject on the bulk-loaded log."""
    from consents import log, merkle
    from consents.models import LogEntry

    head = log.log_head()
    size = head.size
    seqs = [1, size // 3, size // 2, size - 2]
    for seq in seqs:  # the bulk-loaded tree must be the one the integrator would have built
        entry = LogEntry.objects.get(leaf__seq=seq).entry.encode()
        proof = log.inclusion_proof(seq=seq, tree_size=size)
        assert merkle.verify_entry_inclusion(entry, seq, size, proof, head.root_hash)
    inclusion = timed(lambda: [log.inclusion_proof(seq=s, tree_size=size) for s in seqs], 9)
    consistency = timed(lambda: log.consistency_proof(first=size // 3 + 1, second=size), 9)
    subject = LogEntry.objects.values_list("subject_id", flat=True).get(leaf__seq=size // 2)
    page = timed(
        lambda: list(
            LogEntry.objects.filter(subject_id=subject, leaf__seq__lt=size // 2 + 1).order_by(
                "-leaf__seq"
            )[:50]
        ),
        5,
    )
    return {
        "tree_size": size,
        "inclusion_proof_ms": round(statistics.median(inclusion) / len(seqs) * 1000, 3),
        "inclusion_proof_spread_ms": [
            round(min(inclusion) / len(seqs) * 1000, 3),
            round(max(inclusion) / len(seqs) * 1000, 3),
        ],
        "consistency_proof_ms": round(statistics.median(consistency) * 1000, 3),
        "consistency_proof_spread_ms": [
            round(min(consistency) * 1000, 3),
            round(max(consistency) * 1000, 3),
        ],
        "subject_page_of_50_ms": round(statistics.median(page) * 1000, 3),
    }


def main() -> None:
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        results: dict[str, Any] = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": connection.vendor,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            # Proofs on a small log first (SMALL_SIZE entries), on the large one at the end.
            "bulk_load_small": bulk_load(SMALL_SIZE),
            "at_small": bench_at_scale(),
            "log_appends": bench_log_appends(),
            "integrator": bench_integrator(),
            "merge_delay": bench_merge_delay(),
            "decide": bench_decide(),
        }
        if BULK_SIZE:
            results["bulk_load"] = bulk_load(BULK_SIZE)
            results["at_scale"] = bench_at_scale()
            small, large = results["at_small"], results["at_scale"]
            results["proofs_large_vs_small"] = {
                "inclusion": round(large["inclusion_proof_ms"] / small["inclusion_proof_ms"], 2),
                "consistency": round(
                    large["consistency_proof_ms"] / small["consistency_proof_ms"], 2
                ),
            }
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    out = (
        ROOT
        / "docs"
        / "benchmarks"
        / os.environ.get("BENCH_OUT", f"results-{results['database']}.json")
    )
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
