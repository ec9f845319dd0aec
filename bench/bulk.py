"""Fast bulk loading of an integrated consent log and of consents, for the at-scale benchmarks.

PostgreSQL only; benchmark databases only. The entries are made by the database itself
(`INSERT … SELECT` over `generate_series`, hashed with `sha256()`), which loads about a
hundred times faster than building rows in Python: each entry is one of a few canonical
JSON templates made by `consents.log.entry_v2` and RFC 8785 in Python, with placeholders
that the database replaces by values (a subject, a consent, a time, a recipient). Values
never change the order of keys, so every row is still the canonical text of an entry
`log_append` would have written; its columns are those `entry_columns` derives, and
`check_sample` recomputes both for a sample. The tree is built level by level in SQL with
the same hashing as the integrator (RFC 6962: SHA-256 of 0x00 || entry, of 0x01 || left ||
right); then one LogBatch row and a signed head record the new size, exactly what the
integrator would have written after the same entries.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import rfc8785
from django.db import connection, transaction

from consents import merkle
from consents.log import (
    daily_counts_add,
    entry_columns,
    entry_v2,
    log_head,
    node_key,
    tree_head_sign,
)
from consents.models import LogBatch, LogEntry

#: Placeholders replaced by the database; none can occur in a real value.
_SUBJECT, _CONSENT, _ORG, _TIME = "@subject@", "@consent@", "@org@", "2000-01-01T00:00:00.000000Z"
_PLACEHOLDER_TIME = datetime(2000, 1, 1, tzinfo=UTC)

#: Where the generated log starts and how many days it spans (so statistics have periods).
LOG_START = datetime(2025, 1, 1, tzinfo=UTC)
LOG_DAYS = 365
#: Distinct subjects and recipients the generated entries name.
SUBJECTS = 200_000
RECIPIENTS = 200


def subject_uuid_sql(expr: str) -> str:
    """SQL for the subject id of subject number `expr` (also used to find one from Python)."""
    return f"md5('subject-' || ({expr}))::uuid"


def consent_uuid_sql(expr: str) -> str:
    return f"md5('consent-' || ({expr}))::uuid"


def org_sql(expr: str) -> str:
    return f"'1.2.246.10.' || mod({expr}, {RECIPIENTS})"


def _template(event_type: str, outcome: str, body: dict[str, Any] | None) -> tuple[str, str]:
    obj = entry_v2(
        event_type=event_type,
        occurred_at=_PLACEHOLDER_TIME,
        subject_id=_SUBJECT,  # type: ignore[arg-type]  # a placeholder, replaced in SQL
        actor_id=None,
        about={
            "consent": _CONSENT,
            "lineage": _CONSENT,
            "kind": "provider-access"
            if event_type.startswith(("decision", "flow"))
            else "provider-sharing",
            "recipient": _ORG,
            "purpose": "care",
            "outcome": outcome,
        },
        body=body,
    )
    return event_type, rfc8785.dumps(obj).decode()


def _decision_body(outcome: str, reason: str) -> dict[str, Any]:
    return {
        "flow": "provider-access",
        "recipient": {"organisation": _ORG},
        "purpose": "care",
        "categories": ["conditions"],
        "permitted": ["conditions"] if outcome == "permit" else [],
        "decision": {
            "outcome": outcome,
            "reason": reason,
            "consent": {"id": _CONSENT, "lineage": _CONSENT, "version": 1},
        },
    }


#: (share in percent, template): the mix of a running service, mostly decisions and
#: deliveries, some consent events (so that the statistics have every series).
MIX: list[tuple[int, tuple[str, str]]] = [
    (55, _template("decision.permit", "permit", _decision_body("permit", "permitted"))),
    (10, _template("decision.deny", "deny", _decision_body("deny", "withdrawn"))),
    (25, _template("flow.delivered", "", {"categories": ["conditions"], "resources": 3})),
    (4, _template("consent.granted", "", {"consent": {"version": 1, "status": "active"}})),
    (3, _template("consent.requested", "", {"consent": {"version": 1, "status": "requested"}})),
    (2, _template("consent.withdrawn", "", {"consent": {"version": 1, "status": "withdrawn"}})),
    (1, _template("consent.expired", "", {"consent": {"version": 1, "status": "expired"}})),
]
assert sum(share for share, _ in MIX) == 100


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _mix_sql() -> str:
    """A VALUES list (bucket from, bucket to, type, outcome, template) for the mix."""
    rows, at = [], 0
    for share, (event_type, text) in MIX:
        outcome = json.loads(text).get("about", {}).get("outcome", "")
        rows.append(
            f"({at}, {at + share}, {_quote(event_type)}, {_quote(outcome)}, {_quote(text)})"
        )
        at += share
    return "VALUES " + ", ".join(rows)


def _entries_sql(start: int, n: int, seconds_per_entry: float) -> str:
    """INSERT of entries number start … start+n-1, in time order across LOG_DAYS."""
    subject = subject_uuid_sql(f"mod(g * 7919, {SUBJECTS})")
    consent = consent_uuid_sql(f"mod(g * 7919, {SUBJECTS * 4})")
    org = org_sql("g * 31")
    at = f"timestamptz '{LOG_START.isoformat()}' + make_interval(secs => g * {seconds_per_entry})"
    return f"""
WITH mix(lo, hi, event_type, outcome, template) AS ({_mix_sql()}),
rows AS (
    SELECT g, {subject} AS subject, {consent} AS consent, {org} AS org, {at} AS at,
           mix.event_type, mix.outcome, mix.template
    FROM generate_series({start}::bigint, {start + n - 1}::bigint) AS g
    JOIN mix ON mod(g, 100) >= mix.lo AND mod(g, 100) < mix.hi
),
texts AS (
    SELECT *, replace(replace(replace(replace(template,
        '{_SUBJECT}', subject::text), '{_CONSENT}', consent::text), '{_ORG}', org),
        '{_TIME}', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) AS entry
    FROM rows
)
INSERT INTO consents_logentry (event_type, occurred_at, subject_id, actor_id, consent_id,
    consent_lineage, kind, recipient, purpose, outcome, entry, leaf_hash)
SELECT event_type, at, subject, NULL, consent, consent,
    CASE WHEN event_type LIKE 'consent.%' THEN 'provider-sharing' ELSE 'provider-access' END,
    org, 'care', outcome, entry, sha256('\\x00'::bytea || convert_to(entry, 'UTF8'))
FROM texts ORDER BY g
"""


#: Secondary indexes of the entry and leaf tables (not the unique ones, which are
#: constraints), dropped during a large load and built afterwards, as a restore does:
#: building an index once is much faster than maintaining it row by row (the leaf hash index
#: alone took most of the 10-million load's leaf step).
def _secondary_indexes(cur: Any) -> list[tuple[str, str]]:
    cur.execute(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE tablename IN ('consents_logentry', 'consents_logleaf') "
        "AND indexdef NOT LIKE 'CREATE UNIQUE%'"
    )
    return list(cur.fetchall())


def load_log(n: int, *, chunk: int = 1_000_000, progress: Any = print) -> dict[str, Any]:
    """Append n integrated entries to the log (on top of whatever it holds) and sign the head."""
    if connection.vendor != "postgresql":
        raise RuntimeError("the bulk loader needs PostgreSQL")
    head = LogBatch.objects.order_by("-size").first()
    start_size = head.size if head else 0
    total = start_size + n
    # Spread the whole planned log over LOG_DAYS, so a bigger log is denser, not longer.
    seconds_per_entry = LOG_DAYS * 86400 / max(total, 1)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    with connection.cursor() as cur:
        indexes = _secondary_indexes(cur) if n >= 200_000 else []
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        t = time.perf_counter()
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM consents_logentry")
        first_id = cur.fetchone()[0] + 1
        for at in range(start_size, total, chunk):
            count = min(chunk, total - at)
            cur.execute(_entries_sql(at, count, seconds_per_entry))
            progress(f"  entries {at + count:,} / {total:,} ({time.perf_counter() - t:.0f} s)")
        timings["entries_s"] = time.perf_counter() - t
        t = time.perf_counter()
        # Entry ids are contiguous here (a private database, one writer): leaf = id offset.
        cur.execute(
            "INSERT INTO consents_logleaf (seq, entry_id, leaf_hash) "
            "SELECT id - %s + %s, id, leaf_hash FROM consents_logentry WHERE id >= %s",
            [first_id, start_size, first_id],
        )
        assert cur.rowcount == n, (cur.rowcount, n)
        timings["leaves_s"] = time.perf_counter() - t
        t = time.perf_counter()
        level = 1
        while (total >> level) > 0:
            lo, hi = start_size >> level, (total >> level) - 1
            if lo <= hi:
                if level == 1:
                    children = (
                        "JOIN consents_logleaf l ON l.seq = 2 * i "
                        "JOIN consents_logleaf r ON r.seq = 2 * i + 1"
                    )
                    left, right = "l.leaf_hash", "r.leaf_hash"
                else:
                    children = (
                        f"JOIN consents_lognode l ON l.key = ((2 * i) << 6) | {level - 1} "
                        f"JOIN consents_lognode r ON r.key = ((2 * i + 1) << 6) | {level - 1}"
                    )
                    left, right = "l.hash", "r.hash"
                cur.execute(
                    f"INSERT INTO consents_lognode (key, hash) "
                    f"SELECT (i << 6) | {level}, sha256('\\x01'::bytea || {left} || {right}) "
                    f"FROM generate_series(%s::bigint, %s::bigint) AS i {children}",
                    [lo, hi],
                )
                assert cur.rowcount == hi - lo + 1, (level, cur.rowcount, hi - lo + 1)
            level += 1
        timings["nodes_s"] = time.perf_counter() - t
        t = time.perf_counter()
        daily_counts_add(first=start_size, end=total)  # as the integrator does per batch
        timings["daily_counts_s"] = time.perf_counter() - t
        t = time.perf_counter()
        for _name, definition in indexes:
            cur.execute(definition)
        timings["indexes_s"] = time.perf_counter() - t
        t = time.perf_counter()
        cur.execute("ANALYZE")  # what autovacuum would do after such a load
        timings["analyze_s"] = time.perf_counter() - t
    frontier = _frontier(total)
    with transaction.atomic():
        with connection.cursor() as cur:
            # The integrator's next scan starts here: every loaded entry is below it.
            cur.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())")
            horizon = int(cur.fetchone()[0])
        LogBatch.objects.create(
            size=total,
            entries=n,
            frontier=[h.hex() for h in frontier],
            root_hash=merkle.frontier_root(frontier, total),
            horizon=horizon,
            integrated_at=datetime.now(UTC),
        )
    tree_head_sign()
    assert log_head().size == total
    return {
        "entries": n,
        "tree_size": total,
        "load_s": round(time.perf_counter() - started, 1),
        "per_s": round(n / (time.perf_counter() - started)),
        **{k: round(v, 1) for k, v in timings.items()},
    }


def _frontier(size: int) -> list[bytes]:
    """The complete subtrees on the right edge of a tree of `size` leaves, largest first."""
    from consents.models import LogLeaf, LogNode

    out, offset = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            index = offset >> level
            if level == 0:
                out.append(bytes(LogLeaf.objects.get(seq=offset).leaf_hash))
            else:
                out.append(bytes(LogNode.objects.get(key=node_key(level, index)).hash))
            offset += 1 << level
    return out


def check_sample(k: int = 200) -> int:
    """Recompute canonical text, leaf hash, columns and an inclusion proof against the signed
    head for k entries spread over the log (and the last)."""
    from consents.log import inclusion_proof

    head = log_head()
    size = head.size
    step = max(size // k, 1)
    checked = 0
    for entry in LogEntry.objects.filter(leaf__seq__in=[*range(0, size, step), size - 1]):
        raw, seq = entry.entry.encode(), entry.seq
        assert seq is not None
        proof = inclusion_proof(seq=seq, tree_size=size)
        assert merkle.verify_entry_inclusion(raw, seq, size, proof, head.root_hash)
        assert rfc8785.dumps(json.loads(raw)) == raw, entry.id
        assert bytes(entry.leaf_hash) == merkle.leaf_hash(raw), entry.id
        columns = entry_columns(json.loads(raw))
        for name, value in columns.items():
            assert getattr(entry, name) == (value if value is not None else None), (name, value)
        checked += 1
    return checked


def _ordered_uuid(prefix: int, expr: str) -> str:
    """SQL for a UUID that grows with `expr` (as UUIDv7 ids grow with time), so that a load
    of millions appends to the indexes' right edge instead of touching random pages; an
    index lookup costs the same for random ids."""
    return f"('{prefix:08x}-0000-4000-8000-' || lpad(to_hex({expr}), 12, '0'))::uuid"


def load_consents(n: int, *, chunk: int = 1_000_000, progress: Any = print) -> dict[str, Any]:
    """n active provider-sharing consents, 5 per subject, over n/5 subjects (ids of their own
    form, so they never meet the log's subjects)."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM consents_consent")
        have = cur.fetchone()[0]
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'consents_consent' "
            "AND indexdef NOT LIKE 'CREATE UNIQUE%'"
        )
        indexes = list(cur.fetchall()) if n >= 200_000 else []
        for name, _ in indexes:  # built again below, once (see _secondary_indexes)
            cur.execute(f'DROP INDEX "{name}"')
        for at in range(have, have + n, chunk):
            count = min(chunk, have + n - at)
            cur.execute(
                f"""
INSERT INTO consents_consent (id, lineage, version, kind, schema, subject_id, provision, scope,
    status, valid_from, valid_until, requested_by, created_at, updated_at)
SELECT c, c, 1, 'provider-sharing', 'provider-sharing/v1', s, 'permit',
    jsonb_build_object('recipient', jsonb_build_object('organisation', {org_sql("g")}),
                       'dataCategories', jsonb_build_array('conditions'), 'purpose', 'care'),
    'active', %s, NULL, '', %s, %s
FROM (SELECT g, {_ordered_uuid(1, "g")} AS c, {_ordered_uuid(2, "g / 5")} AS s
      FROM generate_series(%s::bigint, %s::bigint) AS g) AS x
""",
                [
                    now - timedelta(days=30),
                    now - timedelta(days=30),
                    now - timedelta(days=30),
                    at,
                    at + count - 1,
                ],
            )
            progress(f"  consents {at + count:,} / {have + n:,}")
        for _name, definition in indexes:
            cur.execute(definition)
        cur.execute("ANALYZE consents_consent")
    return {"consents": have + n, "load_s": round(time.perf_counter() - started, 1)}
