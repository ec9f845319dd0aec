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
#: BENCH_FLOOR=0 leaves out the floor: introspection on bench/floor_server.py, which answers
#: its two database statements from memory (what no cache could beat), against the trivial
#: endpoint of that same server.
FLOOR = os.environ.get("BENCH_FLOOR", "1") != "0"
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
CLIENT_ID = "bench-terveys"
REDIRECT = "https://provider.example/callback"  # never followed: the bench reads Location
TRIVIAL = "/.well-known/jwks.json"
CDS_PATH = "/cds-services/patient-consent-consult"
#: DPoP proofs and client JWTs are generated just before each wrk run and must still be
#: fresh at its end: 60 s (the server's default TAHTO_DPOP_MAX_AGE_SECONDS) covers a run of
#: up to 15 s plus the generation (at most LINES_MAX lines, about 4000 a second). Longer
#: runs raise it for the bench's server only (TAHTO_DPOP_MAX_AGE_SECONDS = SECONDS + 45).
FRESH_SECONDS = max(60, SECONDS + 45)
#: Single-use lines generated per run: LINES_FACTOR times the previous run's requests of the
#: endpoint (for its first run, the trivial endpoint's requests: an upper bound), at least
#: LINES_MIN, at most LINES_MAX.
LINES_FACTOR, LINES_MIN, LINES_MAX = 3.0, 300, int(os.environ.get("BENCH_LINES_MAX", "60000"))


# --- Credentials: the one place that knows how a provider and a citizen authenticate -------


@dataclass
class Credentials:
    client: Any  # tools.fapi_client.FapiClient: the provider's keys (private_key_jwt, DPoP)
    tokens: list[str]  # consent-bound, DPoP-bound access tokens of the provider, one a consent
    session: str  # the citizen's session cookie value
    url: str  # the bench server's public URL (TAHTO_PUBLIC_URL): htu and aud name it
    turn: int = 0  # which of `tokens` the next data request takes

    @property
    def token(self) -> str:
        return self.tokens[0]

    def next_token(self) -> str:
        self.turn += 1
        return self.tokens[self.turn % len(self.tokens)]


_CLIENT: list[Any] = []  # the one FapiClient of this bench (its key is registered)


def _fapi() -> Any:
    """tools/fapi_client.py, the provider client the docs show (a script, not a package:
    loaded by path, as its end-to-end test does)."""
    import importlib.util

    if "fapi_client" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "fapi_client", ROOT / "tools" / "fapi_client.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["fapi_client"] = module
        spec.loader.exec_module(module)
    return sys.modules["fapi_client"]


def fapi_client() -> Any:
    """The provider's FAPI client: its private_key_jwt key registered for CLIENT_ID."""
    if not _CLIENT:
        from joserfc.jwk import ECKey

        key = ECKey.generate_key("P-256", private=True)
        _CLIENT.append(
            _fapi().FapiClient(base=os.environ["TAHTO_PUBLIC_URL"], client_id=CLIENT_ID, key=key)
        )
    return _CLIENT[0]


#: Whose consents the data and introspection tokens use: Eero, so that Aino, whom the
#: decision service asks about and whose consent list is measured, keeps the same consents
#: through the whole bench (one to Terveys Oy, made once: `_AINO`).
DATA_PERSON = "eero"
_MADE: list[Any] = []  # the lineages of the consents made for the previous run's tokens
_AINO: list[str] = []  # the token of Aino's one consent to Terveys Oy, made once


def _withdraw_previous() -> None:
    """Withdraw the consents made for the previous run's tokens: else Eero would hold four
    more active consents each run, and every decision over his consents would grow."""
    from consents import services
    from consents.models import Consent, Status
    from mydata_operator.identity.models import Person

    person = Person.objects.get(user__username=DATA_PERSON)
    for lineage in _MADE:
        current = Consent.objects.filter(lineage=lineage).order_by("-version").first()
        if current is not None and current.status == Status.ACTIVE:
            services.consent_withdraw(consent=current, actor=services.Actor.person(person.id))
    _MADE.clear()


def provider_token(username: str = DATA_PERSON) -> str:
    """A fresh consent-bound, DPoP-bound access token, obtained as a provider does at FAPI 2.0
    (tools/fapi_client.py over HTTP against the bench's server): the provider asks for a
    consent of `username`'s, pushes the authorization request (PAR, private_key_jwt, PKCE),
    the citizen allows it on the authorize page (in-process, signed in), the provider
    exchanges the code with a DPoP proof. Nothing else in the bench knows how a token is
    made."""
    from django.test import Client

    from consents import services
    from mydata_operator.identity.models import Person

    client = fapi_client()
    person = Person.objects.get(user__username=username)
    consent = services.consent_request(
        subject_id=person.id,
        requester=PROVIDER_OID,
        kind="provider-sharing",
        scope={
            "recipient": {"organisation": PROVIDER_OID, "name": "Terveys Oy"},
            "dataCategories": ["conditions", "medications"],
            "purpose": "care",
            # The most a consent may allow (the default is 100 a day): a fresh consent per
            # run, so a run of more than 1 000 data calls would be refused and fail loudly.
            "frequencyPerDay": 1000,
        },
        valid_until=datetime.now(UTC) + timedelta(days=90),
    )
    if username == DATA_PERSON:
        _MADE.append(consent.lineage)
    authorize_url, verifier = client.push(redirect_uri=REDIRECT, consent_id=str(consent.id))
    browser = Client()
    assert person.user is not None
    browser.force_login(person.user)
    parts = urlparse(authorize_url)
    page = browser.get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})
    assert page.status_code == 200, page.content[:500]
    form = page.context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["allow"] = "true"
    answer = browser.post(parts.path, data)
    assert answer.status_code == 302, answer.content[:500]
    token = client.exchange(
        redirect_url=answer["Location"], redirect_uri=REDIRECT, verifier=verifier
    )
    assert token["token_type"] == "DPoP", token  # noqa: S105 - a token type, not a secret
    return str(token["access_token"])


def _register_client() -> None:
    """The bench's provider client: Terveys Oy with the bench key for private_key_jwt."""
    from oauth2_provider.models import get_application_model

    from mydata_operator.identity.models import Provider
    from mydata_operator.provider_api.client_keys import client_keys_register

    app = get_application_model().objects.create(
        client_id=CLIENT_ID,
        client_secret=uuid.uuid4().hex,  # not used: private_key_jwt only
        name="Terveys Oy (bench)",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris=REDIRECT,
        algorithm="",
    )
    provider = Provider.objects.get(organisation_id=PROVIDER_OID)
    provider.application = app
    provider.save()
    public = dict(fapi_client().key.as_dict(private=False), kid=fapi_client().kid)
    client_keys_register(application=app, jwks={"keys": [public]})
    # The consent request whose status the provider polls (STATUS_ENDPOINT's path names it).
    from consents import services
    from mydata_operator.identity.models import Person

    asked = services.consent_request(
        subject_id=Person.objects.get(user__username="aino").id,
        requester=PROVIDER_OID,
        kind="provider-sharing",
        scope={
            "recipient": {"organisation": PROVIDER_OID, "name": "Terveys Oy"},
            "dataCategories": ["conditions"],
            "purpose": "care",
        },
        valid_until=datetime.now(UTC) + timedelta(days=90),
    )
    STATUS_ENDPOINT.path = STATUS_ENDPOINT.path.replace("{consent}", str(asked.id))


def citizen_session() -> str:
    from django.test import Client

    from mydata_operator.identity.models import Person

    browser = Client()
    user = Person.objects.get(user__username="aino").user
    assert user is not None
    browser.force_login(user)
    return str(browser.cookies["sessionid"].value)


#: Tokens (each with its own consent) the data endpoint's requests take in turn: a consent
#: allows at most 1 000 data calls a day, and a 10 s run can make more than that.
DATA_TOKENS = int(os.environ.get("BENCH_DATA_TOKENS", "4"))


def credentials(session: str) -> Credentials:
    """Fresh provider tokens (tokens live 300 s: new ones for every endpoint run), the
    previous run's consents withdrawn, and the session."""
    if not _AINO:  # the consent the decision service finds (CONSENT_PERMIT), made once
        _AINO.append(provider_token("aino"))
    _withdraw_previous()
    tokens = [provider_token() for _ in range(DATA_TOKENS)]
    return Credentials(fapi_client(), tokens, session, os.environ["TAHTO_PUBLIC_URL"])


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


# --- The endpoints ---------------------------------------------------------------------------


@dataclass
class Endpoint:
    """One measured request. `headers` are the same for every request; `fresh` makes the
    single-use parts of one request (values of the `fresh_headers`, then the body if
    `fresh_body`): DPoP proofs and client JWTs may be used once, so wrk reads one
    pre-generated line per request."""

    name: str
    method: str
    path: str
    goal: float | None  # at least this share of the trivial endpoint's requests/s
    headers: Any  # Credentials -> dict
    fresh_headers: tuple[str, ...] = ()
    fresh_body: bool = False
    fresh: Any = None  # Credentials -> list[str]

    @property
    def single_use(self) -> bool:
        return self.fresh is not None

    def lines(self, creds: Credentials, count: int, path: Path) -> float:
        """Write `count` single-use request lines; return the seconds it took."""
        start = time.perf_counter()
        with path.open("w") as out:
            for _ in range(count):
                fields = self.fresh(creds)
                assert all("\t" not in f and "\n" not in f for f in fields)
                out.write("\t".join(fields) + "\n")
        return time.perf_counter() - start

    def one(self, creds: Credentials) -> tuple[dict[str, str], str | None]:
        """The headers and body of one request (for the probe)."""
        headers = dict(self.headers(creds))
        fields = self.fresh(creds) if self.single_use else []
        body = fields.pop() if self.fresh_body else None
        headers.update(zip(self.fresh_headers, fields, strict=True))
        return headers, body

    def lua(self, creds: Credentials, lines: Path | None, threads: int) -> str:
        static = "".join(
            f"  [{json.dumps(k)}] = {json.dumps(v)},\n" for k, v in self.headers(creds).items()
        )
        if not self.single_use:
            return f'wrk.method = "{self.method}"\nwrk.headers = {{\n{static}}}\n'
        assert lines is not None
        names = ", ".join(json.dumps(n) for n in self.fresh_headers)
        return (
            _LUA.replace("@METHOD@", json.dumps(self.method))
            .replace("@PATH@", json.dumps(self.path))
            .replace("@STATIC@", static)
            .replace("@NAMES@", names)
            .replace("@BODY@", "true" if self.fresh_body else "false")
            .replace("@FILE@", json.dumps(str(lines)))
            .replace("@STRIDE@", str(threads))
        )


#: wrk script for single-use credentials: each thread takes every STRIDE-th line of the file
#: (its own slice, from setup(thread)'s index) and one line per request; past the end it
#: sends the request without them (the server refuses it: a non-2xx, counted and reported).
_LUA = r"""
local method, path, stride, file = @METHOD@, @PATH@, @STRIDE@, @FILE@
local static = {
@STATIC@}
local names = {@NAMES@}
local fresh_body = @BODY@
local threads, next_index = {}, 0

function setup(thread)
  thread:set("index", next_index)
  next_index = next_index + 1
  table.insert(threads, thread)
end

function init(args)
  lines, used, missing = {}, 0, 0
  local n = 0
  for line in io.lines(file) do
    if n % stride == index then lines[#lines + 1] = line end
    n = n + 1
  end
end

function request()
  used = used + 1
  local headers = {}
  for k, v in pairs(static) do headers[k] = v end
  local body = nil
  local line = lines[used]
  if line == nil then
    missing = missing + 1
  else
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do fields[#fields + 1] = field end
    for i, name in ipairs(names) do headers[name] = fields[i] end
    if fresh_body then body = fields[#names + 1] end
  end
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  if status > 299 and first_refusal == nil then
    first_refusal = status .. " " .. string.sub(body or "", 1, 300)
  end
end

function done(summary, latency, requests)
  local u, m = 0, 0
  for _, t in ipairs(threads) do
    u = u + t:get("used")
    m = m + t:get("missing")
    local refusal = t:get("first_refusal")
    if refusal then io.write("bench-refusal " .. refusal:gsub("\n", " ") .. "\n") end
  end
  io.write(string.format("bench-lines used=%d missing=%d\n", u, m))
end
"""


def _data_fresh(c: Credentials) -> list[str]:
    token = c.next_token()
    return [f"DPoP {token}", c.client.proof("GET", c.url + "/api/v1/data/Condition", token)]


def _introspect_fresh(c: Credentials) -> list[str]:
    from urllib.parse import urlencode

    form = {"token": c.token, **_assertion_form(c)}
    return [urlencode(form)]


def _assertion_form(c: Credentials) -> dict[str, str]:
    return {
        "client_assertion_type": _fapi().ASSERTION_TYPE,
        "client_assertion": c.client.assertion(lifetime=FRESH_SECONDS),
    }


def _status_fresh(c: Credentials) -> list[str]:
    """A client JWT (aud: the issuer) for one status poll of a consent request."""
    return [f"Bearer {c.client.assertion(lifetime=FRESH_SECONDS)}"]


def _aino_hetu() -> str:
    from datetime import date

    from schemas.hetu import make_hetu

    return str(make_hetu(date(1985, 4, 12), 902))  # Aino in demo_data


def _cds_fresh(c: Credentials) -> list[str]:
    """A client JWT for the service's URL, and the consult of a provider's EHR about Aino,
    who has a consent to Terveys Oy (the one provider_token() asked for and she allowed)."""
    jwt = c.client.assertion(aud=c.url + CDS_PATH, lifetime=FRESH_SECONDS)
    body = {
        "hook": "patient-consent-consult",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "patientId": [{"system": "urn:oid:1.2.246.21", "value": _aino_hetu()}],
            "category": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ],
            "purposeOfUse": ["TREAT"],
            "actor": [{"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{PROVIDER_OID}"}],
        },
    }
    return [f"Bearer {jwt}", json.dumps(body)]


ENDPOINTS = [
    Endpoint("trivial (jwks)", "GET", TRIVIAL, None, lambda c: {}),
    Endpoint(
        "data: GET /api/v1/data/Condition",
        "GET",
        "/api/v1/data/Condition",
        0.5,
        lambda c: {},
        ("Authorization", "DPoP"),
        False,
        _data_fresh,
    ),
    Endpoint(
        "token introspection",
        "POST",
        "/o/introspect/",
        0.5,
        lambda c: {"Content-Type": "application/x-www-form-urlencoded"},
        (),
        True,
        _introspect_fresh,
    ),
    STATUS_ENDPOINT := Endpoint(
        "consent-request status (client JWT)",
        "GET",
        "/api/v1/consent-requests/{consent}/status",  # the consent _register_client asks for
        0.5,
        lambda c: {},
        ("Authorization",),
        False,
        _status_fresh,
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
        CDS_PATH,
        0.7,
        lambda c: {"Content-Type": "application/json"},
        ("Authorization",),
        True,
        _cds_fresh,
    ),
]


#: BENCH_ONLY: measure only the endpoints whose names start with one of these (comma-separated;
#: the trivial endpoint is always measured, as every ratio needs it).
_ONLY = [n for n in os.environ.get("BENCH_ONLY", "").split(",") if n]
if _ONLY:
    ENDPOINTS = [ENDPOINTS[0]] + [e for e in ENDPOINTS[1:] if e.name.startswith(tuple(_ONLY))]


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
        # The public URL is the server's real one, so that DPoP proofs' htu and client JWTs'
        # aud name it (the bench process signs them with the same setting).
        os.environ["TAHTO_PUBLIC_URL"] = self.url("")
        self.env = {
            **os.environ,
            "TAHTO_KANTA_URL": f"http://127.0.0.1:{self.kanta_port}/fhir",
            "TAHTO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        if FRESH_SECONDS > 60:  # runs longer than 15 s: proofs generated before must last
            self.env["TAHTO_DPOP_MAX_AGE_SECONDS"] = str(FRESH_SECONDS)
        if FRESH_SECONDS > 300:  # client JWTs may live 300 s by default
            self.env["TAHTO_CLIENT_JWT_MAX_SECONDS"] = str(FRESH_SECONDS)
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
        elif kind in ("floor", "floor-jti"):  # introspection's floor (floor_server.py)
            argv = [
                sys.executable,
                str(ROOT / "bench" / "floor_server.py"),
                f"127.0.0.1:{self.web_port}",
                str(int(size)),
                "jti" if kind == "floor-jti" else "none",
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


def _wrk(url: str, lua: str, clients: int, seconds: int, tmp: Path) -> dict[str, Any]:
    script = tmp / "request.lua"
    script.write_text(lua)
    done = subprocess.run(
        [
            "wrk",
            f"-t{_threads(clients)}",
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
    )
    out = done.stdout
    if "request()" in lua and "bench-lines" not in out:  # the script did not run
        raise RuntimeError(f"wrk's script failed: {done.stderr[:2000]}")
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    lines = re.search(r"bench-lines used=(\d+) missing=(\d+)", out)
    refusal = re.search(r"^bench-refusal (.*)$", out, re.M)
    non_2xx = int(bad.group(1)) if bad else 0
    return {
        "requests": total,
        # wrk's rate counts every answer; the figure is the rate of 2xx answers only.
        "rps": round(rps * (total - non_2xx) / total, 1) if total else 0.0,
        "rps_all": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": non_2xx,
        "lines_missing": int(lines.group(2)) if lines else 0,
        "socket_errors": errors.group(1) if errors else "",
        "first_refusal": refusal.group(1)[:300] if refusal else "",
    }


def _threads(clients: int) -> int:
    return min(clients, 2)


class Runner:
    """Runs wrk on one endpoint: a fresh token for the run, enough single-use lines generated
    just before it (LINES_FACTOR times the previous run's requests of this endpoint and client
    count, or times the trivial endpoint's for the first), and a loud failure when more than 1%
    of the answers are not 2xx (the figure would not be the endpoint's)."""

    def __init__(self, service: Service, session: str, tmp: Path) -> None:
        self.service, self.session, self.tmp = service, session, tmp
        self.last: dict[tuple[str, int], int] = {}  # requests of the last run
        self.trivial_rps: dict[int, float] = {}
        self.failures: list[str] = []

    def run(self, ep: Endpoint, clients: int, seconds: int = SECONDS) -> dict[str, Any]:
        creds = credentials(self.session)  # tokens live 300 s: a fresh one for every run
        lines_file: Path | None = None
        generated, gen_s = 0, 0.0
        if ep.single_use:
            before = self.last.get((ep.name, clients))
            wanted = (
                before * LINES_FACTOR
                if before is not None
                else self.trivial_rps.get(clients, 1000.0) * seconds
            )
            generated = min(LINES_MAX, max(LINES_MIN, int(wanted)))
            lines_file = self.tmp / "lines.txt"
            gen_s = ep.lines(creds, generated, lines_file)
        lua = ep.lua(creds, lines_file, _threads(clients))
        r = _wrk(self.service.url(ep.path), lua, clients, seconds, self.tmp)
        _drain(self.service)
        r["load_avg"] = round(os.getloadavg()[0], 2)
        if ep.single_use:
            r["lines_generated"], r["lines_seconds"] = generated, round(gen_s, 2)
        self.last[(ep.name, clients)] = r["requests"]
        if ep.path == TRIVIAL:
            self.trivial_rps[clients] = r["rps"]
        share = r["non_2xx"] / r["requests"] if r["requests"] else 1.0
        if share > 0.01:
            r["failed"] = (
                f"{r['non_2xx']} of {r['requests']} answers not 2xx "
                f"({r['lines_missing']} without single-use credentials: wrk used all lines); "
                f"first refusal: {r['first_refusal']}"
            )
            self.failures.append(f"{ep.name}, {clients} clients: {r['failed']}")
            print(f"FAILED {ep.name} c={clients}: {r['failed']}", file=sys.stderr, flush=True)
        return r


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


def profile(service: Service, ep: Endpoint, runner: Runner, tmp: Path) -> dict[str, Any]:
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
    load = runner.run(ep, 8)
    rec.wait(timeout=60)
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
        "rps_under_profiler": load["rps"],
        "busy_samples": samples,
        "own_top": [
            (f, round(n / samples, 3)) for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:15]
        ],
        "total_top": [(f, round(n / samples, 3)) for f, n in top[:40]],
    }


def _probe(service: Service, ep: Endpoint, creds: Credentials) -> tuple[int, str]:
    """The status and start of the body the endpoint answers to one request (404: not
    present)."""
    import requests

    headers, body = ep.one(creds)
    resp = requests.request(ep.method, service.url(ep.path), headers=headers, data=body, timeout=30)
    return resp.status_code, resp.text[:300]


def _interleaved(
    runner: Runner, endpoints: list[Endpoint], label: str = "run"
) -> dict[str, dict[int, list[dict[str, Any]]]]:
    """RUNS rounds; in each, every client count, and for it every endpoint in turn (so a
    burst of load on the machine falls on all of them alike). Samples by endpoint and count."""
    samples: dict[str, dict[int, list[dict[str, Any]]]] = {
        ep.name: {c: [] for c in CLIENTS} for ep in endpoints
    }
    for run in range(RUNS):
        for clients in CLIENTS:
            for ep in endpoints:
                r = runner.run(ep, clients)
                samples[ep.name][clients].append(r)
                print(
                    f"{label} {run + 1}/{RUNS} c={clients} {ep.name}: {r['rps']:.1f}/s 2xx "
                    f"p50 {r['p50_ms']:.1f} ms, non-2xx {r['non_2xx']}, "
                    f"lines {r.get('lines_generated', '-')}, load {r['load_avg']}",
                    flush=True,
                )
    return samples


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
        "load_avg": [r["load_avg"] for r in runs],
        "failed": [r["failed"] for r in runs if "failed" in r],
        "runs": runs,
    }


def main() -> None:
    # Stopped (SIGTERM): still stop the processes and drop the database, in `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (make bench does this)")
    _setup_database()
    import django

    tmp = Path(tempfile.mkdtemp(prefix="tahto-bench-"))
    service = Service(tmp)  # sets TAHTO_PUBLIC_URL to its URL before Django reads it
    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client records the authorize page's form
    _register_client()
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.uname().machine}, {os.cpu_count()} cores",
        "database": "postgresql",
        "server": f"waitress --threads={THREADS}",
        "trivial": TRIVIAL,
        "runs": RUNS,
        "seconds": SECONDS,
        "credentials": (
            "FAPI 2.0: DPoP-bound token (PAR, private_key_jwt, PKCE), a fresh one per run; "
            "a new DPoP proof (data) or client JWT (introspection, decision service) per "
            f"request, generated before the run; proofs accepted for {FRESH_SECONDS} s"
        ),
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
        "endpoints": {},
    }
    try:
        service.start()
        runner = Runner(service, citizen_session(), tmp)
        present: dict[str, tuple[int, str]] = {}
        creds = credentials(runner.session)
        for ep in ENDPOINTS:
            present[ep.name] = _probe(service, ep, creds)
            print(f"probe {ep.name}: {present[ep.name]}", flush=True)
        samples = _interleaved(runner, [e for e in ENDPOINTS if present[e.name][0] == 200])
        trivial = {c: _summary(samples[ENDPOINTS[0].name][c]) for c in CLIENTS}
        for ep in ENDPOINTS:
            entry: dict[str, Any] = {"method": ep.method, "path": ep.path, "goal": ep.goal}
            status, text = present[ep.name]
            if status != 200:
                entry["status"] = (
                    "not present" if status == 404 else f"answered {status} to the bench's request"
                )
                entry["answer"] = text
            else:
                entry["status"] = "measured"
                for c in CLIENTS:
                    s = _summary(samples[ep.name][c])
                    s["ratio_to_trivial"] = round(s["rps_median"] / trivial[c]["rps_median"], 3)
                    entry[f"clients_{c}"] = s
            results["endpoints"][ep.name] = entry
        for name in PROFILE:
            ep = next(e for e in ENDPOINTS if e.name.startswith(name))
            results.setdefault("profiles", {})[ep.name] = profile(service, ep, runner, tmp)
        intro = next((e for e in ENDPOINTS if e.name == "token introspection"), None)
        if FLOOR and intro is not None and present[intro.name][0] == 200:
            results["floor"] = floor(service, runner, (ENDPOINTS[0], intro))
            service.web(f"waitress:{THREADS}")
        sweep: dict[str, Any] = {}
        data_ep = ENDPOINTS[1]
        for server in SERVERS_SWEEP if data_ep.name.startswith("data") else ():
            service.web(server)
            row: dict[str, Any] = {}
            for ep in (e for e in (ENDPOINTS[0], data_ep) if present[e.name][0] == 200):
                row[ep.name] = runner.run(ep, 8)
            row["load_avg"] = round(os.getloadavg()[0], 2)
            sweep[server] = row
            print(
                f"{server}: "
                + ", ".join(f"{k} {v['rps']:.1f}/s" for k, v in row.items() if isinstance(v, dict)),
                flush=True,
            )
        results["servers_8_clients"] = sweep
        results["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
        results["failures"] = runner.failures
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
    if results.get("failures"):
        sys.exit("rows with more than 1% non-2xx answers:\n  " + "\n  ".join(results["failures"]))


#: The floor's two servers (bench/floor_server.py): what each answers from memory.
FLOOR_MODES = {
    "floor": "no database statement",
    "floor-jti": "only the client JWT's jti recorded (one INSERT), the rest from memory",
}


def floor(service: Service, runner: Runner, pair: tuple[Endpoint, Endpoint]) -> dict[str, Any]:
    """Introspection on bench/floor_server.py (each of FLOOR_MODES) against the trivial
    endpoint of that same server: RUNS runs per client count, interleaved, as above."""
    trivial, intro = pair
    out: dict[str, Any] = {}
    for mode, what in FLOOR_MODES.items():
        service.web(f"{mode}:{THREADS}")
        samples = _interleaved(runner, list(pair), label=mode)
        row: dict[str, Any] = {"what": what}
        for clients in CLIENTS:
            t = _summary(samples[trivial.name][clients])
            i = _summary(samples[intro.name][clients])
            row[f"clients_{clients}"] = {
                "trivial": t,
                "introspection": i,
                "ratio_to_trivial": round(i["rps_median"] / t["rps_median"], 3),
            }
        out[mode] = row
    return out


def markdown(results: dict[str, Any]) -> str:
    head = (
        f"# Serving benchmark ({results['when']})\n\n"
        f"{results['database']}, {results['server']}, wrk on loopback, {results['machine']}; "
        f"{results['runs']} runs × {results['seconds']} s per cell, median (min–max) of the "
        "2xx answers per second; "
        f"ratio = median / the trivial endpoint's median (`{results['trivial']}`, same server, "
        f"same run). Load average before {results['load_avg_before']}, after "
        f"{results.get('load_avg_after')}; load = the 1-minute load average after each run "
        f"(min–max). Credentials: {results.get('credentials', '')}.\n\n"
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
        + " | ".join(
            f"{c} client{'s' if c > 1 else ''}: 2xx/s | p50 ms | ratio | non-2xx | load"
            for c in cols
        )
        + " |",
        "|---|---|" + "---|---|---|---|---|" * len(cols),
    ]
    for name, e in results["endpoints"].items():
        goal = f"≥ {e['goal']}×" if e.get("goal") else ""
        if e["status"] != "measured":
            lines.append(
                f"| {name} (`{e['path']}`) | {goal} | {e['status']} |" + " |" * (5 * len(cols) - 1)
            )
            continue
        cells = []
        for c in cols:
            s = e[f"clients_{c}"]
            cells += [
                f"{s['rps_median']:.1f} ({s['rps_min']:.1f}–{s['rps_max']:.1f})",
                f"{s['p50_ms_median']:.1f}",
                f"{s['ratio_to_trivial']:.3f}",
                f"{s['non_2xx']}" + (" **FAILED**" if s["failed"] else ""),
                f"{min(s['load_avg']):.1f}–{max(s['load_avg']):.1f}",
            ]
        lines.append(f"| {name} (`{e['path']}`) | {goal} | " + " | ".join(cells) + " |")
    if low := results.get("floor"):
        lines += [
            "",
            f"The floor: token introspection on bench/floor_server.py ({THREADS} threads), "
            "which answers its database statements from memory, against the trivial endpoint "
            "of that same server:",
            "",
            "| server | clients | trivial 2xx/s | p50 ms | introspection 2xx/s | p50 ms | ratio "
            "| load |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for mode, row in low.items():
            for key, cell in row.items():
                if not key.startswith("clients_"):
                    continue
                t, i = cell["trivial"], cell["introspection"]
                lines.append(
                    f"| {mode}: {row['what']} | {key.split('_')[1]} | {t['rps_median']:.1f} "
                    f"({t['rps_min']:.1f}–{t['rps_max']:.1f}) | {t['p50_ms_median']:.2f} | "
                    f"{i['rps_median']:.1f} ({i['rps_min']:.1f}–{i['rps_max']:.1f}) | "
                    f"{i['p50_ms_median']:.2f} | {cell['ratio_to_trivial']:.3f} | "
                    f"{min(i['load_avg']):.1f}–{max(i['load_avg']):.1f} |"
                )
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
