"""HTTP benchmarks of the running service with wrk on loopback. Run by `make bench`.

Builds a throwaway PostgreSQL database (`tahto_bench_<pid>` next to DATABASE_URL's, or the
local server), migrates it, loads the demo people, obtains a consent-bound provider token and
a citizen's session the way the tests do, then starts the real service (waitress as in
bin/run-service, the Kanta stand-in as its own process, the log integrator) on a free port
in 8110-8119 and measures each endpoint of ENDPOINTS against the same server's trivial
endpoint (`/.well-known/jwks.json`: no database, no session), with 1 and 8 clients, RUNS runs
of SECONDS s each, interleaved so that every endpoint sees the same machine. Then the web
server's settings: the data endpoint and the trivial one at 8 clients for each of
SERVERS_SWEEP. Writes docs/benchmarks/serving.json and serving.md and prints the table.
BENCH_PROFILE names endpoints to sample with py-spy while they are loaded.

    make bench                                    # about 10 minutes
    BENCH_RUNS=5 BENCH_SECONDS=20 make bench      # longer
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
#: Names of ENDPOINTS to profile with py-spy (comma-separated; "" for none): the web server
#: is sampled while one extra wrk run of 8 clients loads that endpoint.
PROFILE = [p for p in os.environ.get("BENCH_PROFILE", "").split(",") if p]
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = [int(c) for c in os.environ.get("BENCH_CLIENTS", "1,8").split(",")]
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
#: Web server settings compared at 8 clients: waitress:<threads> or gunicorn:<workers>x<threads>
#: (gunicorn's gthread worker: several processes, so more than one core runs Python).
SERVERS_SWEEP = [
    s
    for s in os.environ.get(
        "BENCH_SERVERS", "waitress:4,waitress:8,waitress:16,gunicorn:2x4,gunicorn:3x4,gunicorn:4x2"
    ).split(",")
    if s
]
PORTS = range(
    int(os.environ.get("BENCH_PORT_FROM", "8110")), int(os.environ.get("BENCH_PORT_TO", "8120"))
)
BASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
if not BASE_URL.startswith("postgres"):
    sys.exit("make bench measures on PostgreSQL: set DATABASE_URL=postgres://…")
SERVER = BASE_URL.rsplit("/", 1)[0]
DB = os.environ.get("BENCH_DB", f"tahto_bench_{os.getpid()}")
os.environ["DATABASE_URL"] = f"{SERVER}/{DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mydata_operator.settings")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/2")

PROVIDER_OID = "1.2.246.10.1234567.10.0"  # Terveys Oy in demo_data
CLIENT_ID, CLIENT_SECRET = "bench-terveys", "bench-secret-" + uuid.uuid4().hex
REDIRECT = "http://127.0.0.1:9/callback"
TRIVIAL = "/.well-known/jwks.json"


# --- Credentials: the one place that knows how a provider and a citizen authenticate -------


@dataclass
class Credentials:
    token: str  # a consent-bound access token of the provider
    basic: str  # the provider client's HTTP Basic credentials (introspection)
    session: str  # the citizen's session cookie value


def provider_token() -> str:
    """A fresh consent-bound access token, obtained as the tests do: the provider asks for a
    consent, the citizen allows it on the authorize page (PKCE, authorization_details), the
    provider exchanges the code. Swap this function when the token flow changes (DPoP, PAR,
    private_key_jwt): nothing else in the bench knows how a token is made."""
    import base64
    import hashlib
    import secrets

    from django.test import Client

    from consents import services
    from mydata_operator.identity.models import Person

    aino = Person.objects.get(user__username="aino")
    consent = services.consent_request(
        subject_id=aino.id,
        requester=PROVIDER_OID,
        kind="provider-sharing",
        scope={
            "recipient": {"organisation": PROVIDER_OID, "name": "Terveys Oy"},
            "dataCategories": ["conditions", "medications"],
            "purpose": "care",
        },
        valid_until=datetime.now(UTC) + timedelta(days=90),
    )
    browser = Client()
    assert aino.user is not None
    browser.force_login(aino.user)
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    details = json.dumps([{"type": "tahto_consent", "consentId": str(consent.id)}])
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": "bench",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "authorization_details": details,
    }
    page = browser.get("/o/authorize/", params)
    assert page.status_code == 200, page.content[:500]
    form = page.context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["allow"] = "true"
    answer = browser.post("/o/authorize/", data)
    assert answer.status_code == 302, answer.content[:500]
    code = parse_qs(urlparse(answer["Location"]).query)["code"][0]
    resp = Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=_basic(),
    )
    assert resp.status_code == 200, resp.content[:500]
    return str(resp.json()["access_token"])


def _basic() -> str:
    import base64

    return "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


def credentials() -> Credentials:
    from django.test import Client

    from mydata_operator.identity.models import Person

    browser = Client()
    user = Person.objects.get(user__username="aino").user
    assert user is not None
    browser.force_login(user)
    try:
        token = provider_token()
    except (AssertionError, KeyError) as exc:
        # The token flow changed under the bench (FAPI 2.0: PAR, private_key_jwt, DPoP with a
        # fresh proof per request, which a static wrk header cannot carry): the rows that need
        # a token then report the status they got instead of a figure.
        TOKEN_PROBLEMS.append(f"no provider token: {exc!r}"[:300])
        token = "none"  # noqa: S105 - not a credential: a token the server will refuse
    return Credentials(token, _basic(), browser.cookies["sessionid"].value)


#: Why no token could be obtained, if so (written to the results).
TOKEN_PROBLEMS: list[str] = []


def _setup_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}"')
        conn.execute(f'CREATE DATABASE "{DB}"')
    env = {**os.environ, "TAHTO_DB_AS_OWNER": "1"}
    for cmd in (["migrate", "--noinput", "-v", "0"], ["demo_data"]):
        subprocess.run([sys.executable, "manage.py", *cmd], cwd=ROOT, env=env, check=True)


def _drop_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


def _register_client() -> None:
    from oauth2_provider.models import get_application_model

    from mydata_operator.identity.models import Provider

    app = get_application_model().objects.create(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        name="Terveys Oy (bench)",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris=REDIRECT,
        algorithm="",
    )
    provider = Provider.objects.get(organisation_id=PROVIDER_OID)
    provider.application = app
    provider.save()


# --- The endpoints ---------------------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    goal: float | None  # at least this share of the trivial endpoint's requests/s
    headers: Any  # Credentials -> dict
    body: Any = None  # Credentials -> str

    def lua(self, creds: Credentials) -> str:
        lines = [f'wrk.method = "{self.method}"']
        for key, value in self.headers(creds).items():
            lines.append(f'wrk.headers["{key}"] = "{value}"')
        if self.body is not None:
            lines.append(f"wrk.body = {json.dumps(self.body(creds))}")
        return "\n".join(lines) + "\n"


def _cds_body(_creds: Credentials) -> str:
    return json.dumps(
        {
            "hook": "patient-consent-consult",
            "hookInstance": str(uuid.uuid4()),
            "context": {
                "patientId": [{"system": "urn:oid:1.2.246.21", "value": "120485-9020"}],
                "category": [{"system": "urn:tahto:data-category", "code": "conditions"}],
                "purposeOfUse": [{"system": "urn:tahto:purpose", "code": "care"}],
                "actor": [{"system": "urn:oid:1.2.246.537.6", "value": PROVIDER_OID}],
            },
        }
    )


ENDPOINTS = [
    Endpoint("trivial (jwks)", "GET", TRIVIAL, None, lambda c: {}),
    Endpoint(
        "data: GET /api/v1/data/Condition",
        "GET",
        "/api/v1/data/Condition",
        0.5,
        lambda c: {"Authorization": f"Bearer {c.token}"},
    ),
    Endpoint(
        "token introspection",
        "POST",
        "/o/introspect/",
        None,
        lambda c: {"Authorization": c.basic, "Content-Type": "application/x-www-form-urlencoded"},
        lambda c: f"token={c.token}",
    ),
    Endpoint(
        "citizen's consent list",
        "GET",
        "/api/v1/me/consents",
        None,
        lambda c: {"Cookie": f"sessionid={c.session}"},
    ),
    Endpoint(
        "decision service (CDS Hooks)",
        "POST",
        "/cds-services/patient-consent-consult",
        0.7,
        lambda c: {"Authorization": c.basic, "Content-Type": "application/json"},
        _cds_body,
    ),
]


# --- Processes -------------------------------------------------------------------------------


def _free_port(taken: set[int]) -> int:
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


class Service:
    """The web service (waitress), the Kanta stand-in and the log integrator."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.ports: set[int] = set()
        self.kanta_port = _free_port(self.ports)
        self.web_port = _free_port(self.ports)
        self.env = {
            **os.environ,
            "TAHTO_KANTA_URL": f"http://127.0.0.1:{self.kanta_port}/fhir",
            "TAHTO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        py = sys.executable
        kanta = self._start(
            "kanta",
            [
                py,
                "-m",
                "connectors.kanta.standin",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.kanta_port),
                "--data",
                str(self.tmp / "kanta"),
            ],
        )
        _wait(f"http://127.0.0.1:{self.kanta_port}/fhir/metadata", kanta)
        self._start("integrator", [py, "manage.py", "log_integrator"])
        self.web(f"waitress:{THREADS}")

    def web(self, server: str) -> None:
        """Start the web service: `waitress:<threads>` or `gunicorn:<workers>x<threads>`."""
        self.stop("web")
        kind, _, size = server.partition(":")
        bin_dir = Path(sys.executable).parent
        if kind == "waitress":
            argv = [
                str(bin_dir / "waitress-serve"),
                f"--listen=127.0.0.1:{self.web_port}",
                f"--threads={int(size)}",
                "mydata_operator.wsgi:application",
            ]
        elif kind == "gunicorn":
            workers, _, threads = size.partition("x")
            argv = [
                str(bin_dir / "gunicorn"),
                f"--bind=127.0.0.1:{self.web_port}",
                "--worker-class=gthread",
                f"--workers={int(workers)}",
                f"--threads={int(threads)}",
                "mydata_operator.wsgi:application",
            ]
        else:
            raise ValueError(f"unknown web server setting {server!r}")
        _wait(self.url(TRIVIAL), self._start("web", argv))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


# --- wrk ------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    assert m, text
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, lua: str, clients: int, seconds: int, tmp: Path) -> dict[str, Any]:
    script = tmp / "request.lua"
    script.write_text(lua)
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(clients, 2)}",
            f"-c{clients}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def _drain(service: Service, seconds: float = 60) -> None:
    """Wait until the server has finished the requests wrk left in flight (a slow endpoint
    keeps working after wrk stops), so that the next measurement starts on an idle server."""
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.perf_counter()
        with urllib.request.urlopen(service.url(TRIVIAL), timeout=seconds):  # noqa: S310
            pass
        if time.perf_counter() - start < 0.05:
            return
        time.sleep(0.5)


def profile(service: Service, ep: Endpoint, creds: Credentials, tmp: Path) -> dict[str, Any]:
    """Sample the web server with py-spy during a wrk run; the functions with the most
    samples (own time and with callees) go to the results, the raw stacks to a file."""
    spy = str(Path(sys.executable).parent / "py-spy")
    raw = tmp / "profile.txt"
    rec = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(service.procs["web"].pid),
            "--duration",
            str(SECONDS),
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    wrk(service.url(ep.path), ep.lua(creds), 8, SECONDS, tmp)
    rec.wait(timeout=60)
    _drain(service)
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        samples += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + n
    top = sorted(total.items(), key=lambda kv: -kv[1])
    return {
        "busy_samples": samples,
        "own_top": [
            (f, round(n / samples, 3)) for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:15]
        ],
        "total_top": [(f, round(n / samples, 3)) for f, n in top[:40]],
    }


def _probe(service: Service, ep: Endpoint, creds: Credentials) -> int:
    """The status the endpoint answers to the bench's request (404: not present)."""
    import requests

    resp = requests.request(
        ep.method,
        service.url(ep.path),
        headers=ep.headers(creds),
        data=ep.body(creds) if ep.body else None,
        timeout=30,
    )
    return resp.status_code


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rps = [r["rps"] for r in runs]
    p50 = [r["p50_ms"] for r in runs]
    return {
        "rps_median": round(statistics.median(rps), 1),
        "rps_min": round(min(rps), 1),
        "rps_max": round(max(rps), 1),
        "p50_ms_median": round(statistics.median(p50), 2),
        "p99_ms_median": round(statistics.median(r["p99_ms"] for r in runs), 2),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "runs": runs,
    }


def main() -> None:
    # Stopped (SIGTERM): still stop the processes and drop the database, in `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (make bench does this)")
    _setup_database()
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client records the authorize page's form
    _register_client()
    tmp = Path(tempfile.mkdtemp(prefix="tahto-bench-"))
    service = Service(tmp)
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.uname().machine}, {os.cpu_count()} cores",
        "database": "postgresql",
        "server": f"waitress --threads={THREADS}",
        "trivial": TRIVIAL,
        "runs": RUNS,
        "seconds": SECONDS,
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
        "endpoints": {},
    }
    try:
        service.start()
        creds = credentials()
        present: dict[str, int] = {}
        for ep in ENDPOINTS:
            present[ep.name] = _probe(service, ep, creds)
        samples: dict[str, dict[int, list[dict[str, Any]]]] = {
            ep.name: {c: [] for c in CLIENTS} for ep in ENDPOINTS
        }
        for run in range(RUNS):
            for clients in CLIENTS:
                creds = credentials()  # tokens live 5 minutes: a fresh one for every round
                for ep in ENDPOINTS:
                    if present[ep.name] != 200:
                        continue
                    r = wrk(service.url(ep.path), ep.lua(creds), clients, SECONDS, tmp)
                    _drain(service)
                    r["load_avg"] = round(os.getloadavg()[0], 2)
                    samples[ep.name][clients].append(r)
                    print(
                        f"run {run + 1}/{RUNS} c={clients} {ep.name}: {r['rps']:.1f}/s "
                        f"p50 {r['p50_ms']:.1f} ms",
                        flush=True,
                    )
        trivial = {c: _summary(samples[ENDPOINTS[0].name][c]) for c in CLIENTS}
        for ep in ENDPOINTS:
            entry: dict[str, Any] = {"method": ep.method, "path": ep.path, "goal": ep.goal}
            if present[ep.name] != 200:
                entry["status"] = (
                    "not present"
                    if present[ep.name] == 404
                    else f"answered {present[ep.name]} to the bench's request"
                )
            else:
                entry["status"] = "measured"
                for c in CLIENTS:
                    s = _summary(samples[ep.name][c])
                    s["ratio_to_trivial"] = round(s["rps_median"] / trivial[c]["rps_median"], 3)
                    entry[f"clients_{c}"] = s
            results["endpoints"][ep.name] = entry
        for name in PROFILE:
            ep = next(e for e in ENDPOINTS if e.name.startswith(name))
            creds = credentials()
            results.setdefault("profiles", {})[ep.name] = profile(service, ep, creds, tmp)
        sweep: dict[str, Any] = {}
        data_ep = ENDPOINTS[1]
        for server in SERVERS_SWEEP:
            service.web(server)
            creds = credentials()
            row: dict[str, Any] = {}
            for ep in (e for e in (ENDPOINTS[0], data_ep) if present[e.name] == 200):
                row[ep.name] = wrk(service.url(ep.path), ep.lua(creds), 8, SECONDS, tmp)
                _drain(service)
            row["load_avg"] = round(os.getloadavg()[0], 2)
            sweep[server] = row
            print(
                f"{server}: "
                + ", ".join(f"{k} {v['rps']:.1f}/s" for k, v in row.items() if isinstance(v, dict)),
                flush=True,
            )
        results["servers_8_clients"] = sweep
        results["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
        results["token_problems"] = sorted(set(TOKEN_PROBLEMS))
    finally:
        service.stop_all()
        from django.db import connections

        connections.close_all()
        _drop_database()
    out_dir = ROOT / "docs" / "benchmarks"
    name = os.environ.get("BENCH_OUT", "serving")
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (out_dir / f"{name}.md").write_text(table)
    print(table)
    print(f"written to docs/benchmarks/{name}.json and {name}.md")
    shutil.rmtree(tmp, ignore_errors=True)


def markdown(results: dict[str, Any]) -> str:
    head = (
        f"# Serving benchmark ({results['when']})\n\n"
        f"{results['database']}, {results['server']}, wrk on loopback, {results['machine']}; "
        f"{results['runs']} runs × {results['seconds']} s per cell, median (min–max) requests/s; "
        f"ratio = median / the trivial endpoint's median (`{results['trivial']}`, same server, "
        f"same run). Load average before {results['load_avg_before']}, after "
        f"{results.get('load_avg_after')}.\n\n"
    )
    cols = sorted(
        {
            int(k.split("_")[1])
            for e in results["endpoints"].values()
            for k in e
            if k.startswith("clients_")
        }
    )
    lines = [
        "| endpoint | goal | "
        + " | ".join(f"{c} client{'s' if c > 1 else ''}: req/s | p50 ms | ratio" for c in cols)
        + " |",
        "|---|---|" + "---|---|---|" * len(cols),
    ]
    for name, e in results["endpoints"].items():
        goal = f"≥ {e['goal']}×" if e.get("goal") else ""
        if e["status"] != "measured":
            lines.append(
                f"| {name} (`{e['path']}`) | {goal} | {e['status']} |" + " |" * (3 * len(cols) - 1)
            )
            continue
        cells = []
        for c in cols:
            s = e[f"clients_{c}"]
            cells += [
                f"{s['rps_median']:.1f} ({s['rps_min']:.1f}–{s['rps_max']:.1f})",
                f"{s['p50_ms_median']:.1f}",
                f"{s['ratio_to_trivial']:.3f}",
            ]
        lines.append(f"| {name} (`{e['path']}`) | {goal} | " + " | ".join(cells) + " |")
    sweep = results.get("servers_8_clients") or {}
    if sweep:
        lines += [
            "",
            "Web server settings, 8 clients, one run each:",
            "",
            "| server | trivial req/s | data req/s | data p50 ms | data ratio | load avg |",
            "|---|---|---|---|---|---|",
        ]
        for server, row in sweep.items():
            t, d = row[ENDPOINTS[0].name], row.get(ENDPOINTS[1].name)
            if d is None:
                lines.append(
                    f"| {server} | {t['rps']:.1f} | not measured | | | {row['load_avg']} |"
                )
                continue
            lines.append(
                f"| {server} | {t['rps']:.1f} | {d['rps']:.1f} | {d['p50_ms']:.1f} | "
                f"{d['rps'] / t['rps']:.3f} | {row['load_avg']} |"
            )
    return head + "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
