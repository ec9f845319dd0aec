"""A stand-in for Kanta: a small FHIR R4 REST server (JSON only) in its own process.

    python -m connectors.kanta.standin --host 127.0.0.1 --port 8001 --data var/kanta

Serves ``/fhir``: ``metadata``; search (``GET /fhir/<Type>?patient=urn:oid:1.2.246.21|<hetu>
&category=<code>``, ``Patient?identifier=...``) answered with searchset Bundles; read
(``GET /fhir/<Type>/<id>``); create (``POST``, conditional with ``If-None-Exist:
identifier=<system>|<value>``, so a resent resource is stored once) and update (``PUT``).
Every received resource is validated with ``fhir.resources`` (R4B, identical to R4 for these
types) and rejected with an OperationOutcome if invalid; Observation and
QuestionnaireResponse (Kanta PHR content) must also name a PHR profile in ``meta.profile``,
as Kanta PHR checks ``meta.profile``; required FHIR bindings and the PHR profile claimed are
checked with ``consents.fhir_terminology``, the same check Tahto runs before sending.
Errors are OperationOutcome resources.

For tests: ``POST /_faults {"mode": "500"|"timeout"|"garbage", "count": n, "seconds": s}``
makes the next n FHIR requests fail (``timeout`` does the work but answers only after s
seconds, so the sender cannot know whether its request took effect); ``GET /_stats`` counts
requests per idempotency key and the resources stored, so a test can prove "stored exactly
once".

Storage is one SQLite file under ``--data``; synthetic records of the demo citizens are
loaded on first start. No Django here.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from consents.fhir_terminology import PHR_PROFILE_PREFIX, fhir_issues

from .synthetic import HETU_SYSTEM, all_records

RESOURCE_TYPES = (
    "Patient",
    "Observation",
    "Condition",
    "MedicationStatement",
    "Immunization",
    "QuestionnaireResponse",
    "Consent",
)
#: Kanta PHR content: must declare a PHR profile in meta.profile.
PHR_TYPES = frozenset({"Observation", "QuestionnaireResponse"})
FHIR_JSON = "application/fhir+json; charset=utf-8"

_Start = Callable[[str, list[tuple[str, str]]], Any]


class FhirError(Exception):
    def __init__(self, status: int, code: str, diagnostics: str, expression: str = ""):
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics, self.expression = (
            status,
            code,
            diagnostics,
            expression,
        )


def operation_outcome(issues: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    out = []
    for code, diagnostics, expression in issues:
        issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
        if expression:
            issue["expression"] = [expression]
        out.append(issue)
    return {"resourceType": "OperationOutcome", "issue": out}


def validation_issues(resource: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Problems of one resource as (code, message, FHIRPath-like location); empty if valid."""
    rtype = resource.get("resourceType")
    if rtype not in RESOURCE_TYPES:
        return [("not-supported", f"resource type {rtype!r} is not supported", "resourceType")]
    try:
        get_fhir_model_class(rtype).model_validate(resource)
    except ValidationError as exc:
        return [
            ("invalid", e["msg"], ".".join([rtype, *(str(p) for p in e["loc"])]))
            for e in exc.errors()
        ]
    if rtype in PHR_TYPES:
        profiles = (resource.get("meta") or {}).get("profile") or []
        if not any(str(p).startswith(PHR_PROFILE_PREFIX) for p in profiles):
            return [
                (
                    "invalid",
                    f"Kanta PHR accepts {rtype} only with a PHR profile in meta.profile "
                    f"({PHR_PROFILE_PREFIX}...)",
                    f"{rtype}.meta.profile",
                )
            ]
    # Kanta checks terminology too: required bindings and the PHR profile claimed.
    return [("code-invalid", i.message, i.path) for i in fhir_issues(resource)]


class Store:
    """Resources in one SQLite file, one connection per call (threads share nothing)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS resource (
                    type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
                    patient TEXT, ident TEXT, body TEXT NOT NULL, updated TEXT NOT NULL,
                    PRIMARY KEY (type, id));
                CREATE INDEX IF NOT EXISTS resource_patient ON resource (type, patient);
                CREATE UNIQUE INDEX IF NOT EXISTS resource_ident ON resource (type, ident);
                CREATE TABLE IF NOT EXISTS received (key TEXT PRIMARY KEY, n INTEGER NOT NULL);
                """
            )
            seeded = db.execute("SELECT count(*) FROM resource").fetchone()[0]
        if not seeded:
            for resource in all_records():
                self.put(resource, count=False)

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    # patients ------------------------------------------------------------------------------
    def _hetu_of(self, db: sqlite3.Connection, resource: dict[str, Any]) -> str | None:
        if resource.get("resourceType") == "Patient":
            for ident in resource.get("identifier") or []:
                if ident.get("system") == HETU_SYSTEM:
                    return str(ident.get("value"))
            return None
        ref = resource.get("subject") or resource.get("patient") or {}
        ident = ref.get("identifier") or {}
        if ident.get("system") == HETU_SYSTEM:
            return str(ident.get("value"))
        reference = str(ref.get("reference") or "")
        if reference.startswith("Patient/"):
            row = db.execute(
                "SELECT patient FROM resource WHERE type='Patient' AND id=?", (reference[8:],)
            ).fetchone()
            return row[0] if row else None
        return None

    # writing -------------------------------------------------------------------------------
    def count(self, key: str) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO received (key, n) VALUES (?, 1) "
                "ON CONFLICT(key) DO UPDATE SET n = n + 1",
                (key,),
            )

    def put(self, resource: dict[str, Any], *, count: bool = True) -> tuple[dict[str, Any], bool]:
        """Create or update by id; return (stored resource, created)."""
        rtype, rid = resource["resourceType"], str(resource["id"])
        if count:
            self.count(f"{rtype}/{rid}")
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT version FROM resource WHERE type=? AND id=?", (rtype, rid)
            ).fetchone()
            version = (row[0] + 1) if row else 1
            stored = self._stamp(resource, version)
            db.execute(
                "INSERT OR REPLACE INTO resource VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    rtype,
                    rid,
                    version,
                    self._hetu_of(db, resource),
                    None,
                    json.dumps(stored),
                    stored["meta"]["lastUpdated"],
                ),
            )
            db.execute("COMMIT")
        return stored, row is None

    def create(self, resource: dict[str, Any], ident: str | None) -> tuple[dict[str, Any], bool]:
        """Create with a new id, or return the resource already stored under `ident`."""
        rtype = resource["resourceType"]
        if ident:
            self.count(ident)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            if ident:
                row = db.execute(
                    "SELECT body FROM resource WHERE type=? AND ident=?", (rtype, ident)
                ).fetchone()
                if row:
                    db.execute("COMMIT")
                    return json.loads(row[0]), False
            stored = self._stamp({**resource, "id": uuid.uuid4().hex}, 1)
            db.execute(
                "INSERT INTO resource VALUES (?, ?, 1, ?, ?, ?, ?)",
                (
                    rtype,
                    stored["id"],
                    self._hetu_of(db, resource),
                    ident,
                    json.dumps(stored),
                    stored["meta"]["lastUpdated"],
                ),
            )
            db.execute("COMMIT")
        return stored, True

    @staticmethod
    def _stamp(resource: dict[str, Any], version: int) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        meta = {**(resource.get("meta") or {}), "versionId": str(version), "lastUpdated": now}
        return {**resource, "meta": meta}

    # reading -------------------------------------------------------------------------------
    def read(self, rtype: str, rid: str) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute(
                "SELECT body FROM resource WHERE type=? AND id=?", (rtype, rid)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def search(self, rtype: str, hetu: str | None) -> list[dict[str, Any]]:
        with self._db() as db:
            if hetu is None:
                rows = db.execute(
                    "SELECT body FROM resource WHERE type=? ORDER BY updated, id", (rtype,)
                ).fetchall()
            else:
                rows = db.execute(
                    "SELECT body FROM resource WHERE type=? AND patient=? ORDER BY updated, id",
                    (rtype, hetu),
                ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def stats(self) -> dict[str, Any]:
        with self._db() as db:
            received = dict(db.execute("SELECT key, n FROM received").fetchall())
            stored = dict(
                db.execute("SELECT type, count(*) FROM resource GROUP BY type").fetchall()
            )
            idents = dict(
                db.execute(
                    "SELECT ident, count(*) FROM resource WHERE ident IS NOT NULL GROUP BY ident"
                ).fetchall()
            )
        return {"received": received, "stored": stored, "storedByIdentifier": idents}


class Faults:
    """Injected failures for the next `count` FHIR requests (tests only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.mode, self.count, self.seconds = "", 0, 30.0

    def set(self, mode: str, count: int, seconds: float) -> None:
        if mode not in ("", "500", "timeout", "garbage"):
            raise FhirError(400, "invalid", f"unknown fault mode {mode!r}", "mode")
        with self._lock:
            self.mode, self.count, self.seconds = mode, count, seconds

    def take(self) -> tuple[str, float]:
        with self._lock:
            if not self.mode or self.count <= 0:
                return "", 0.0
            self.count -= 1
            return self.mode, self.seconds


def _match_token(concepts: Any, token: str) -> bool:
    system, _, code = token.rpartition("|") if "|" in token else ("", "", token)
    items = concepts if isinstance(concepts, list) else [concepts]
    for concept in items:
        for coding in (concept or {}).get("coding") or []:
            if coding.get("code") == code and (not system or coding.get("system") == system):
                return True
    return False


def _identifier_token(resource: dict[str, Any], token: str) -> bool:
    system, _, value = token.rpartition("|")
    idents = resource.get("identifier") or []
    if isinstance(idents, dict):
        idents = [idents]
    return any(
        i.get("value") == value and (not system or i.get("system") == system) for i in idents
    )


class StandIn:
    """The WSGI application."""

    def __init__(self, data: Path):
        self.store = Store(data / "kanta.sqlite3")
        self.faults = Faults()

    def __call__(self, environ: dict[str, Any], start_response: _Start) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "").rstrip("/")
        query = {k: v for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            if path.startswith("/_"):
                status, body = self._control(method, path, environ)
            else:
                if not path.startswith("/fhir"):
                    raise FhirError(404, "not-found", f"no such path {path!r}")
                parts = [p for p in path[len("/fhir") :].split("/") if p]
                mode, seconds = "", 0.0
                if parts != ["metadata"]:
                    mode, seconds = self.faults.take()
                    if mode == "500":
                        raise FhirError(500, "exception", "injected fault: internal error")
                    if mode == "garbage":
                        start_response("200 OK", [("Content-Type", FHIR_JSON)])
                        return [b"<html>\x00 not FHIR {"]
                status, body = self._fhir(method, parts, query, environ)
                if mode == "timeout":
                    # The work is done but the answer comes late: the worst case for a
                    # sender, which cannot know whether its request took effect.
                    time.sleep(seconds)
        except FhirError as exc:
            status = exc.status
            body = operation_outcome([(exc.code, exc.diagnostics, exc.expression)])
        except Exception as exc:  # the stand-in answers, as a server would, with a 500
            status, body = 500, operation_outcome([("exception", repr(exc), "")])
        data = json.dumps(body).encode("utf-8")
        headers = [("Content-Type", FHIR_JSON), ("Content-Length", str(len(data)))]
        if status == 201 and isinstance(body, dict) and body.get("id"):
            headers.append(("Location", f"/fhir/{body['resourceType']}/{body['id']}"))
        start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
        return [data]

    # ----------------------------------------------------------------------------------------
    def _control(self, method: str, path: str, environ: dict[str, Any]) -> tuple[int, Any]:
        if path == "/_faults" and method == "POST":
            body = _read_json(environ)
            self.faults.set(
                str(body.get("mode", "")), int(body.get("count", 1)), float(body.get("seconds", 30))
            )
            return 200, {"mode": self.faults.mode, "count": self.faults.count}
        if path == "/_faults" and method == "DELETE":
            self.faults.set("", 0, 0)
            return 200, {"mode": "", "count": 0}
        if path == "/_stats" and method == "GET":
            return 200, self.store.stats()
        raise FhirError(404, "not-found", f"no such control path {path!r}")

    def _fhir(
        self, method: str, parts: list[str], query: dict[str, list[str]], environ: dict[str, Any]
    ) -> tuple[int, Any]:
        if parts == ["metadata"] and method == "GET":
            return 200, _capability()
        if not parts or parts[0] not in RESOURCE_TYPES:
            raise FhirError(404, "not-supported", f"resource type {parts[:1]} is not served")
        rtype = parts[0]
        if len(parts) == 1 and method == "GET":
            return 200, self._search(rtype, query)
        if len(parts) == 2 and method == "GET":
            found = self.store.read(rtype, parts[1])
            if found is None:
                raise FhirError(404, "not-found", f"{rtype}/{parts[1]} is not known")
            return 200, found
        if len(parts) == 1 and method == "POST":
            resource = self._received(rtype, environ)
            ident = _if_none_exist(environ)
            stored, created = self.store.create(resource, ident)
            return (201 if created else 200), stored
        if len(parts) == 2 and method == "PUT":
            resource = self._received(rtype, environ)
            if str(resource.get("id")) != parts[1]:
                raise FhirError(400, "invalid", "resource id differs from the URL's id", "id")
            stored, created = self.store.put(resource)
            return (201 if created else 200), stored
        raise FhirError(405, "not-supported", f"{method} is not supported here")

    def _received(self, rtype: str, environ: dict[str, Any]) -> dict[str, Any]:
        resource = _read_json(environ)
        if resource.get("resourceType") != rtype:
            raise FhirError(400, "invalid", f"expected a {rtype} resource", "resourceType")
        issues = validation_issues(resource)
        if issues:
            raise FhirError(422, issues[0][0], "; ".join(i[1] for i in issues), issues[0][2])
        return resource

    def _search(self, rtype: str, query: dict[str, list[str]]) -> dict[str, Any]:
        hetu: str | None = None
        filters: list[Callable[[dict[str, Any]], bool]] = []
        for name, values in query.items():
            value = values[0]
            base = name.split(":")[0]
            if base in ("patient", "subject") or (rtype == "Patient" and base == "identifier"):
                hetu = self._patient_hetu(value)
            elif base in ("category", "code"):
                filters.append(_token_filter(base, value))
            elif base == "identifier":
                filters.append(_identifier_filter(value))
            elif base == "_id":
                filters.append(_id_filter(value))
            elif base in ("_count", "_format", "_summary"):
                continue
            else:
                raise FhirError(400, "not-supported", f"search parameter {name!r} is not supported")
        matches = [r for r in self.store.search(rtype, hetu) if all(f(r) for f in filters)]
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matches),
            "entry": [
                {
                    "fullUrl": f"urn:kanta-standin:{r['resourceType']}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in matches
            ],
        }

    def _patient_hetu(self, value: str) -> str:
        if value.startswith("Patient/"):
            patient = self.store.read("Patient", value[8:]) or {}
            for ident in patient.get("identifier") or []:
                if ident.get("system") == HETU_SYSTEM:
                    return str(ident["value"])
            return ""
        system, _, code = value.rpartition("|")
        if system and system != HETU_SYSTEM:
            raise FhirError(400, "invalid", f"unknown patient identifier system {system}")
        return code


def _token_filter(element: str, token: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: _match_token(r.get(element), token)


def _identifier_filter(token: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: _identifier_token(r, token)


def _id_filter(rid: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r.get("id") == rid


_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}


def _read_json(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise FhirError(400, "structure", f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise FhirError(400, "structure", "the body is not a JSON object")
    return body


def _if_none_exist(environ: dict[str, Any]) -> str | None:
    header = environ.get("HTTP_IF_NONE_EXIST", "")
    if not header:
        return None
    name, _, value = header.partition("=")
    if name != "identifier" or "|" not in value:
        raise FhirError(400, "not-supported", "If-None-Exist supports identifier=system|value")
    return value


def _capability() -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "software": {"name": "Tahto Kanta stand-in"},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": t,
                        "interaction": [
                            {"code": c} for c in ("read", "search-type", "create", "update")
                        ],
                    }
                    for t in RESOURCE_TYPES
                ],
            }
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--data", type=Path, default=Path("var/kanta"))
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    app = StandIn(args.data)
    import waitress  # type: ignore[import-untyped]  # no stubs published

    print(f"Kanta stand-in at http://{args.host}:{args.port}/fhir (data in {args.data})")
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads, _quiet=True)


if __name__ == "__main__":
    main()
