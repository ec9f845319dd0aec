"""Writing security events (failures, refusals) to the SecurityEvent table."""

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from . import limits
from .models import SecurityEvent


def client_address(request: HttpRequest | None) -> str | None:
    """The peer's address as the server saw it (no X-Forwarded-For: it can be forged)."""
    return (request.META.get("REMOTE_ADDR") or None) if request is not None else None


def event_record(kind: str, *, request: HttpRequest | None, who: str, **detail: Any) -> None:
    SecurityEvent.objects.create(
        at=timezone.now(),
        kind=kind,
        who=who[:150],
        remote_addr=client_address(request),
        detail={"path": request.path if request is not None else "", **detail},
    )


def refusal_record(kind: str, *, request: HttpRequest | None, who: str, **detail: Any) -> None:
    """Log a refusal (locked, rate-limited) without letting a flood of them flood the table:
    the 1st, 10th, 100th, ... refusal of the same kind for the same name within an hour is
    written, with the count so far."""
    refusals = limits.rate_count("refusals", f"{kind}|{who}", 3600)
    if refusals == 1 or str(refusals).rstrip("0") == "1":
        event_record(kind, request=request, who=who, refusals=refusals, **detail)
