"""HTTP with FHIR JSON for every connector: failures become ConnectorError(permanent=...).

Temporary (a retry can help): no connection, a timeout, 408, 425, 429, any 5xx, and a 2xx
whose body is not JSON (a proxy's error page, a half-written answer). Permanent: other 4xx,
e.g. the recipient rejected the resource as invalid; the OperationOutcome's text is kept.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from .base import ConnectorError

FHIR_JSON = "application/fhir+json"
_TEMPORARY_STATUS = frozenset({408, 425, 429})

_local = threading.local()


def pooled_session() -> requests.Session:
    """This thread's HTTP session: its connections stay open between requests (keep-alive),
    so a data call does not open a new TCP connection to Kanta each time. One session per
    thread, because a requests Session is not documented as safe to share between threads;
    each keeps at most a few connections per host. No retries here: the connector's error
    says whether to retry, and the task layer does it."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=4)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session = session
    return session


def _outcome_text(body: Any) -> str:
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        parts = []
        for issue in body.get("issue") or []:
            where = ",".join(issue.get("expression") or [])
            parts.append(
                f"{issue.get('diagnostics') or issue.get('code')}"
                + (f" at {where}" if where else "")
            )
        return "; ".join(parts)
    return ""


def request_json(
    method: str,
    url: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    timeout: float | None = None,
    data: bytes | None = None,
    expect_json: bool = True,
    session: requests.Session | None = None,
) -> tuple[int, Any]:
    """Send one request; return (status, parsed JSON) for 2xx, raise ConnectorError otherwise.

    `session`: send through it instead of a plain connection (the webhook connector passes
    one whose connections refuse non-public addresses, see providers/destinations.py).
    """
    sent_headers = {"Accept": FHIR_JSON, **(headers or {})}
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        sent_headers.setdefault("Content-Type", FHIR_JSON)
    timeout = settings.TAHTO_CONNECTOR_TIMEOUT if timeout is None else timeout
    try:
        response = (session or requests).request(
            method, url, data=data, headers=sent_headers, params=params, timeout=timeout
        )
    except requests.Timeout as exc:
        raise ConnectorError(f"{method} {url} timed out after {timeout} s", False) from exc
    except requests.RequestException as exc:
        raise ConnectorError(f"{method} {url} failed: {exc.__class__.__name__}", False) from exc
    try:
        parsed = response.json() if response.content else None
    except ValueError:
        parsed = ...
    if 200 <= response.status_code < 300:
        if parsed is ... and expect_json:
            raise ConnectorError(f"{method} {url} answered {response.status_code} with non-JSON")
        return response.status_code, None if parsed is ... else parsed
    detail = _outcome_text(parsed) or response.reason or ""
    message = f"{method} {url} answered {response.status_code}" + (f": {detail}" if detail else "")
    temporary = response.status_code >= 500 or response.status_code in _TEMPORARY_STATUS
    raise ConnectorError(message, permanent=not temporary)
