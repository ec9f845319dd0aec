"""FAPI 2.0 rules that django-oauth-toolkit does not have: exact redirect URIs (https except
for a demo client) and pushed authorization requests (RFC 9126).

Pushed requests: a client posts its authorization request to `/o/par` (authenticated with
private_key_jwt); we check it as the authorize endpoint would and keep its parameters under
a random `request_uri`, for TAHTO_PAR_SECONDS and one use, bound to that client. The
authorize page then takes only `client_id` and `request_uri`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from oauth2_provider.models import Application

from . import binding
from .models import ClientProfile, PushedAuthorizationRequest

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
#: How long after it was pushed a request may still be answered by the citizen who opened it.
ANSWER_WINDOW = timedelta(minutes=30)


def client_is_demo(application: Application) -> bool:
    """Is this the client of a demo provider (ClientProfile.demo)?"""
    return ClientProfile.objects.filter(application=application, demo=True).exists()


def redirect_uri_registered(application: Application, uri: str | None) -> bool:
    """The URI is one the client registered, character for character (no loopback port
    relaxation, RFC 9700 §4.1.3), and https unless the client is a demo client on loopback."""
    if not uri or uri not in application.redirect_uris.split():
        return False
    parts = urlsplit(uri)
    if parts.scheme == "https":
        return True
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    return loopback and client_is_demo(application)


class ParInvalid(ValueError):
    def __init__(self, description: str, error: str = "invalid_request") -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Pushed:
    request_uri: str
    expires_in: int


def par_push(*, client_id: str, parameters: dict[str, str], at: datetime) -> Pushed:
    """Keep a checked authorization request; return its request_uri."""
    reference = secrets.token_urlsafe(32)
    PushedAuthorizationRequest.objects.create(
        reference_checksum=binding.checksum(reference),
        client_id=client_id,
        parameters=parameters,
        expires_at=at + timedelta(seconds=settings.TAHTO_PAR_SECONDS),
        created_at=at,
    )
    return Pushed(request_uri=REQUEST_URI_PREFIX + reference, expires_in=settings.TAHTO_PAR_SECONDS)


def _reference(request_uri: str) -> str:
    if not request_uri.startswith(REQUEST_URI_PREFIX):
        raise ParInvalid("request_uri is not one this server issued", "invalid_request_uri")
    return binding.checksum(request_uri[len(REQUEST_URI_PREFIX) :])


@transaction.atomic
def par_open(*, request_uri: str, client_id: str, user_id: int, at: datetime) -> dict[str, Any]:
    """The pushed parameters, for the authorize page of this client, shown to this citizen;
    a request_uri opens once (a second open, by anyone, is refused)."""
    pushed = (
        PushedAuthorizationRequest.objects.select_for_update()
        .filter(reference_checksum=_reference(request_uri))
        .first()
    )
    if pushed is None or pushed.client_id != client_id:
        raise ParInvalid(
            "request_uri is unknown or belongs to another client", "invalid_request_uri"
        )
    if pushed.expires_at <= at:
        raise ParInvalid("request_uri has expired; push the request again", "invalid_request_uri")
    if pushed.used_at is not None:
        raise ParInvalid(
            "request_uri was used already; push the request again", "invalid_request_uri"
        )
    pushed.used_at, pushed.used_by = at, user_id
    pushed.save(update_fields=["used_at", "used_by"])
    return dict(pushed.parameters)


@transaction.atomic
def par_complete(*, request_uri: str, client_id: str, user_id: int, at: datetime) -> dict[str, Any]:
    """The pushed parameters for the citizen's answer on the page `par_open` showed them;
    closes the request (an answer counts once). The page may stay on screen longer than the
    request_uri lives, so the answer has its own window (ANSWER_WINDOW)."""
    pushed = (
        PushedAuthorizationRequest.objects.select_for_update()
        .filter(reference_checksum=_reference(request_uri))
        .first()
    )
    if (
        pushed is None
        or pushed.client_id != client_id
        or pushed.used_by != user_id
        or pushed.completed_at is not None
        or pushed.created_at + ANSWER_WINDOW < at
    ):
        raise ParInvalid("this authorization request was answered already or is not yours")
    pushed.completed_at = at
    pushed.save(update_fields=["completed_at"])
    return dict(pushed.parameters)


def par_shown(*, request_uri: str, client_id: str, user_id: int) -> dict[str, Any] | None:
    """The parameters of a request this citizen has open and not yet answered (to show the
    page again, e.g. after a failed step-up); None otherwise. Changes nothing."""
    try:
        reference = _reference(request_uri)
    except ParInvalid:
        return None
    pushed = PushedAuthorizationRequest.objects.filter(
        reference_checksum=reference, client_id=client_id, used_by=user_id, completed_at=None
    ).first()
    return dict(pushed.parameters) if pushed is not None else None


def pushed_prune(*, now: datetime) -> int:
    """Forget pushed requests an hour after they expired."""
    deleted, _ = PushedAuthorizationRequest.objects.filter(
        expires_at__lt=now - timedelta(hours=1)
    ).delete()
    return deleted
