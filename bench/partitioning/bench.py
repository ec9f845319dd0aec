"""The log partitioned by month against one table: the pages' and statistics' queries and
single-row inserts, on a database made by load.sql, leaves.sql and part.sql (docs/scaling.md).

    createdb -p 5433 tahto_part && DATABASE_URL=postgres://postgres@127.0.0.1:5433/tahto_part \\
        .venv/bin/python manage.py migrate
    psql -p 5433 -d tahto_part -f load.sql -f leaves.sql -f part.sql
    PARTITION_BENCH_URL=postgres://postgres@127.0.0.1:5433/tahto_part \\
        .venv/bin/python bench/partitioning/bench.py

Not part of `make bench` or `make test`: a one-off measurement behind a design decision.
"""

import json
import os
import random
import statistics
import time
from typing import Any

import psycopg

TABLES = ("consents_logentry", "logentry_part")


def main() -> None:
    url = os.environ.get("PARTITION_BENCH_URL", "postgres://postgres@127.0.0.1:5433/tahto_part")
    conn = psycopg.connect(url, autocommit=True)
    random.seed(7)
    subjects = [
        (r[0],)
        for r in conn.execute(
            "SELECT DISTINCT subject_id FROM consents_logentry TABLESAMPLE SYSTEM (1) LIMIT 200"
        )
    ]
    recipients = [(f"1.2.246.10.{i}",) for i in random.sample(range(500), 50)]
    month = "occurred_at >= '2026-06-01' AND occurred_at < '2026-07-01'"
    decisions = "event_type IN ('decision.permit', 'decision.deny')"
    queries: dict[str, tuple[str, list[tuple[Any, ...]]]] = {
        "subject page (50 newest of one subject)": (
            "SELECT id FROM {t} WHERE subject_id = %s ORDER BY id DESC LIMIT 50",
            subjects,
        ),
        "recipient page (50 newest of one provider)": (
            "SELECT id FROM {t} WHERE recipient = %s ORDER BY id DESC LIMIT 50",
            recipients,
        ),
        "newest page (50, no filter)": (
            "SELECT id FROM {t} WHERE event_type <> 'audit.query' ORDER BY id DESC LIMIT 50",
            [()] * 50,
        ),
        "statistics, one month (grants per kind per day)": (
            "SELECT kind, date_trunc('day', occurred_at), count(*) FROM {t} WHERE event_type IN "
            f"('consent.granted', 'consent.approved') AND {month} GROUP BY 1, 2",
            [()] * 10,
        ),
        "statistics, one month (decisions per provider)": (
            f"SELECT recipient, outcome, count(*) FROM {{t}} WHERE {decisions} AND {month} "
            "GROUP BY 1, 2",
            [()] * 10,
        ),
        "statistics, whole log (decisions per provider)": (
            f"SELECT recipient, outcome, count(*) FROM {{t}} WHERE {decisions} GROUP BY 1, 2",
            [()] * 3,
        ),
    }

    def median_p90(sql: str, params: list[tuple[Any, ...]]) -> tuple[float, float]:
        for p in params[:5]:
            conn.execute(sql, p).fetchall()  # warm the cache
        took = []
        for p in params:
            start = time.perf_counter()
            conn.execute(sql, p).fetchall()
            took.append(time.perf_counter() - start)
        took.sort()
        return round(statistics.median(took) * 1000, 2), round(took[int(len(took) * 0.9)] * 1000, 2)

    def insert_rate(table: str, n: int = 3000) -> int:
        sql = (
            f"INSERT INTO {table} (event_type, occurred_at, subject_id, kind, recipient, purpose,"
            " outcome, entry, leaf_hash) VALUES ('decision.permit', timestamptz '2026-12-20'"
            " + %s * interval '1 second', md5(%s::text)::uuid, 'provider-sharing',"
            " '1.2.246.10.1', 'care', 'permit', repeat(md5(%s::text), 22), sha256(%s::text::bytea))"
        )
        start = time.perf_counter()
        with conn.cursor() as cur:
            for i in range(n):
                k = random.randrange(10**9)
                cur.execute(sql, (i, k, k, k))
        return round(n / (time.perf_counter() - start))

    out: dict[str, Any] = {"queries_ms_median_p90": {}}
    for name, (sql, params) in queries.items():
        out["queries_ms_median_p90"][name] = {
            t: median_p90(sql.format(t=t), params) for t in TABLES
        }
        print(name, out["queries_ms_median_p90"][name], flush=True)
    out["single-row inserts per s (autocommit), current month"] = [
        {t: insert_rate(t) for t in TABLES} for _ in range(3)
    ]
    sizes = conn.execute(
        "SELECT pg_total_relation_size('consents_logentry'), pg_relation_size('consents_logentry'),"
        " pg_total_relation_size('consents_logleaf'), pg_total_relation_size('consents_lognode'),"
        " (SELECT count(*) FROM consents_logentry)"
    ).fetchone()
    assert sizes is not None
    out["bytes"] = dict(
        zip(
            ["logentry_total", "logentry_heap", "logleaf_total", "lognode_total", "entries"],
            sizes,
            strict=True,
        )
    )
    print(json.dumps(out, indent=1))
    with open(os.environ.get("PARTITION_BENCH_OUT", "partitioning-results.json"), "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
