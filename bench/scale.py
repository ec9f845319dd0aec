"""At-scale benchmarks: the regulator's search and statistics, the citizen's overview and the
decision latency as the log and the consents grow. Run by `make bench-scale`.

The database (BENCH_SCALE_DB, default tahto_bench_scale on the local PostgreSQL) is created,
migrated and given the demo people; it is kept between runs so that a large load is paid once
(drop it to start again). BENCH_SCALE_SIZES lists the log sizes (and consent counts) to
measure at, e.g. `10000,100000,1000000,10000000`. Pages are rendered in-process through
Django's test client (the whole view, template and queries; no network), each the median of
BENCH_SCALE_REPEAT runs, against a trivial page (`/healthz`) rendered the same way.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB = os.environ.get("BENCH_SCALE_DB", "tahto_bench_scale")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
os.environ["DATABASE_URL"] = f"{PG}/{DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mydata_operator.settings")
SIZES = [int(s) for s in os.environ.get("BENCH_SCALE_SIZES", "10000,100000,1000000").split(",")]
REPEAT = int(os.environ.get("BENCH_SCALE_REPEAT", "7"))
#: The citizen whose overview is measured: this many consents and disclosures.
PERSON_CONSENTS = int(os.environ.get("BENCH_PERSON_CONSENTS", "50"))
PERSON_DISCLOSURES = int(os.environ.get("BENCH_PERSON_DISCLOSURES", "10000"))


def _ensure_db() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone():
            return
        conn.execute(f'CREATE DATABASE "{DB}"')
    env = {**os.environ, "TAHTO_DB_AS_OWNER": "1"}
    for cmd in (["migrate", "--noinput"], ["demo_data"]):
        subprocess.run([sys.executable, "manage.py", *cmd], cwd=ROOT, env=env, check=True)


_ensure_db()

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import bulk  # noqa: E402


def _ms(samples: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples, n=10)
    return {
        "p10_ms": round(q[0] * 1000, 2),
        "p90_ms": round(q[-1] * 1000, 2),
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "min_ms": round(min(samples) * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
    }


def _get(client: Client, url: str, repeat: int = REPEAT) -> dict[str, float]:
    resp = client.get(url)  # warm: caches, plans
    assert resp.status_code == 200, (url, resp.status_code)
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        resp = client.get(url)
        if hasattr(resp, "streaming_content"):
            b"".join(resp.streaming_content)
        out.append(time.perf_counter() - start)
        assert resp.status_code == 200, (url, resp.status_code)
    return _ms(out)


def _person() -> Any:
    """The demo citizen Aino, given PERSON_CONSENTS consents and PERSON_DISCLOSURES
    disclosures (decisions and deliveries through the real services), once."""
    from consents import services
    from consents.log import log_append, log_integrate
    from consents.models import Consent
    from consents.policy import DecisionRequest, Flow, Recipient, decide_and_log
    from mydata_operator.identity.models import Person

    person = Person.objects.get(user__username="aino")
    have = Consent.objects.filter(subject_id=person.id).count()
    oid = "1.2.246.10.1234567.10.0"
    for i in range(have, PERSON_CONSENTS):
        services.consent_grant(
            subject_id=person.id,
            actor=services.Actor.person(person.id),
            kind="provider-sharing",
            scope={
                "recipient": {"organisation": oid if i == 0 else f"1.2.246.10.{900 + i}"},
                "dataCategories": ["conditions", "medications"],
                "purpose": "care",
            },
            notice_text="Bench notice.",
            language="en",
        )
    from consents.models import LogEntry

    have = LogEntry.objects.filter(
        subject_id=person.id, event_type__in=("decision.permit", "flow.delivered")
    ).count()
    request = DecisionRequest(
        subject_id=person.id,
        flow=Flow.PROVIDER_ACCESS,
        recipient=Recipient(organisation=oid),
        at=timezone.now(),
        purpose="care",
        data_categories=frozenset({"conditions"}),
    )
    for start in range(have, PERSON_DISCLOSURES, 500):
        with transaction.atomic():
            for _ in range(start, min(start + 500, PERSON_DISCLOSURES), 2):
                decision = decide_and_log(request, requested_by=oid)
                log_append(
                    event_type="flow.delivered",
                    subject_id=person.id,
                    consent_id=decision.consent_id,
                    consent_lineage=decision.consent_lineage,
                    kind="provider-access",
                    recipient=oid,
                    purpose="care",
                    body={"categories": ["conditions"], "decisionEntry": decision.log_entry_id},
                )
    while log_integrate():
        pass
    return person


def _decision_latency(
    subject_id: uuid.UUID, scope: dict[str, Any], repeat: int = 50
) -> dict[str, float]:
    """decide_and_log for a subject with 5 consents: lock, read, decide, log, commit."""
    from consents.policy import DecisionRequest, Flow, Recipient, decide_and_log

    request = DecisionRequest(
        subject_id=subject_id,
        flow=Flow.PROVIDER_ACCESS,
        recipient=Recipient(organisation=scope["recipient"]["organisation"]),
        at=timezone.now(),
        purpose="care",
        data_categories=frozenset({"conditions"}),
    )
    assert decide_and_log(request).permit
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        decide_and_log(request)
        out.append(time.perf_counter() - start)
    return _ms(out)


def _load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(person: Any) -> dict[str, Any]:
    from consents.log import log_head
    from consents.models import Consent, LogEntry
    from mydata_operator.identity.models import Regulator

    regulator = Client(HTTP_ACCEPT_LANGUAGE="en")
    regulator.force_login(Regulator.objects.get().user)
    citizen = Client(HTTP_ACCEPT_LANGUAGE="en")
    citizen.force_login(person.user)
    size = log_head().size
    decision_subject = (
        Consent.objects.filter(kind="provider-sharing", status="active", requested_by="")
        .exclude(subject_id=person.id)
        .values_list("subject_id", "scope")
        .order_by("subject_id")
        .first()
    )
    year = "time_from=2025-01-01&time_to=2026-01-01"
    out: dict[str, Any] = {
        "log_entries": size,
        "consents": Consent.objects.count(),
        "load_avg": _load_avg(),
        "trivial_healthz": _get(citizen, "/healthz"),
        # A trivial page: the citizen's receipt check form (base template, no query of note).
        "trivial_page": _get(citizen, "/receipts/verify/"),
        "regulator_search": _get(regulator, "/regulator/"),
        "regulator_search_provider": _get(regulator, "/regulator/?provider=1.2.246.10.7"),
        "regulator_search_subject": _get(regulator, "/regulator/?subject=120485-9020"),
        "regulator_statistics": _get(regulator, "/regulator/statistics/"),
        "regulator_statistics_year": _get(regulator, f"/regulator/statistics/?{year}"),
        "dashboard_overview": _get(citizen, "/consents/"),
        "dashboard_disclosures": _get(citizen, "/disclosures/")
        if _exists(citizen, "/disclosures/")
        else None,
        "decision": _decision_latency(*decision_subject) if decision_subject else None,
        "person_disclosures": LogEntry.objects.filter(subject_id=person.id).count(),
    }
    if os.environ.get("BENCH_SCALE_ENTRIES_STATS"):
        # What the statistics cost without the daily counts: a range that does not start at
        # midnight makes them group the entries themselves (once: tens of seconds at 10^7).
        from mydata_operator.regulator.filters import LogFilter
        from mydata_operator.regulator.selectors import statistics as regulator_statistics

        start = time.perf_counter()
        regulator_statistics(LogFilter(time_from=datetime(2024, 12, 31, 12, tzinfo=UTC)))
        out["statistics_over_entries_once_ms"] = round((time.perf_counter() - start) * 1000)
    out["load_avg_after"] = _load_avg()
    return out


def _exists(client: Client, url: str) -> bool:
    return client.get(url).status_code == 200


def profile_pages(urls: list[str], times: int) -> None:
    """Render the pages `times` times each (run under py-spy: `make bench-profile`)."""
    from mydata_operator.identity.models import Person, Regulator

    citizen = Client(HTTP_ACCEPT_LANGUAGE="en")
    user = Person.objects.get(user__username="aino").user
    assert user is not None
    citizen.force_login(user)
    regulator = Client(HTTP_ACCEPT_LANGUAGE="en")
    regulator.force_login(Regulator.objects.get().user)
    for url in urls:
        client = regulator if url.startswith("/regulator/") else citizen
        print(url, _get(client, url, times), flush=True)


def decision_only(repeat: int) -> dict[str, Any]:
    """decide_and_log latency for one subject with 5 consents on this database."""
    from consents.models import Consent

    subject, scope = Consent.objects.filter(
        kind="provider-sharing", status="active", requested_by=""
    ).values_list("subject_id", "scope").order_by("subject_id").first() or (None, None)
    assert subject is not None and scope is not None, "no bulk-loaded consents here"
    samples = _decision_latency(subject, scope, repeat)
    return {"consents": Consent.objects.count(), **samples, "load_avg": _load_avg()}


def decision_ab(small: str, large: str, rounds: int, repeat: int) -> dict[str, Any]:
    """Decision latency on two databases, alternating small, large, small, … in separate
    processes, so that both see the same (shared) machine; medians of the round medians."""
    out: dict[str, list[dict[str, Any]]] = {small: [], large: []}
    for _ in range(rounds):
        for db in (small, large):
            run = subprocess.run(
                [sys.executable, __file__, "--decision", str(repeat)],
                env={**os.environ, "BENCH_SCALE_DB": db},
                capture_output=True,
                text=True,
                check=True,
            )
            out[db].append(json.loads(run.stdout.strip().splitlines()[-1]))
    summary: dict[str, Any] = {"rounds": rounds, "repeat": repeat}
    for db, runs in out.items():
        summary[db] = {
            "consents": runs[0]["consents"],
            "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
            "p10_ms": round(statistics.median(r["p10_ms"] for r in runs), 2),
            "p90_ms": round(statistics.median(r["p90_ms"] for r in runs), 2),
            "round_p50s": [r["p50_ms"] for r in runs],
            "load_avg": [r["load_avg"][0] for r in runs],
        }
    summary["large_vs_small_p50"] = round(summary[large]["p50_ms"] / summary[small]["p50_ms"], 2)
    return summary


def main() -> None:
    from consents.log import log_head

    if sys.argv[1:2] == ["--profile"]:
        profile_pages(sys.argv[3:], int(sys.argv[2]))
        return
    if sys.argv[1:2] == ["--decision"]:
        print(json.dumps(decision_only(int(sys.argv[2]))))
        return
    if sys.argv[1:2] == ["--decision-ab"]:
        small, large, rounds, repeat = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        result = decision_ab(small, large, rounds, repeat)
        out = ROOT / "docs" / "benchmarks" / "decision-ab.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        return

    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": DB,
        "machine": f"{os.uname().machine}, {os.cpu_count()} cores",
        "steps": [],
        "loads": [],
    }
    person = _person()
    for target in SIZES:
        have = log_head().size
        if target > have:
            print(f"loading log to {target:,}", flush=True)
            results["loads"].append(bulk.load_log(target - have))
            print(f"  checked {bulk.check_sample()} sample entries", flush=True)
        from consents.models import Consent

        consents = Consent.objects.count()
        if target > consents:
            results["loads"].append(bulk.load_consents(target - consents))
        step = measure(person)
        print(json.dumps(step), flush=True)
        results["steps"].append(step)
    out = ROOT / "docs" / "benchmarks" / os.environ.get("BENCH_SCALE_OUT", "scale.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
