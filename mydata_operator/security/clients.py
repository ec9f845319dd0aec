"""Provider clients: the client id a request names, and the lockout after failed client
authentications (ClientAuthLockoutMiddleware) and the token endpoint's rate."""

import base64
import binascii
import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from . import limits
from .events import client_address, event_record, refusal_record
from .jws import unverified_parts
from .models import SecurityEvent
from .responses import too_many

Kind = SecurityEvent.Kind


def basic_client_id(header: str) -> str:
    """The client id of an HTTP Basic header (RFC 6749 section 2.3.1), unverified; "" if none.

    Only the id: which client the request claims to be, to count its failures by."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    client_id, sep, _secret = decoded.partition(":")
    return unquote(client_id.replace("+", " ")) if sep else ""


def jwt_issuer(token: str) -> str:
    """The `iss` of a JWT, unverified ("" if it is not one): the client it claims to be."""
    try:
        _header, claims = unverified_parts(token.strip())
    except ValueError:
        return ""
    issuer = claims.get("iss")
    return issuer[:100] if isinstance(issuer, str) else ""


def claimed_client_id(request: HttpRequest) -> str:
    """The client id a request names (HTTP Basic, a client-signed Bearer JWT, or client_id /
    client_assertion in an OAuth form), unverified."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if client_id := basic_client_id(header):
        return client_id
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and (client_id := jwt_issuer(value)):
        return client_id
    if request.path.startswith("/o/") and request.method == "POST":
        if client_id := str(request.POST.get("client_id") or ""):
            return client_id
        return jwt_issuer(str(request.POST.get("client_assertion") or ""))
    return ""


def _client_key(request: HttpRequest, client_id: str) -> str:
    # Keyed on the address too, so an attacker cannot lock a provider out of its own machines.
    return f"{client_id}|{client_address(request)}"


def client_locked_response(request: HttpRequest, client_id: str) -> HttpResponse | None:
    """429 while this client id is locked from this address after failed authentications."""
    if seconds := limits.locked_for("client-auth", _client_key(request, client_id)):
        refusal_record(Kind.RATE_LIMITED, request=request, who=client_id, limit="client-auth")
        return too_many(seconds, "Too many failed client authentications; wait and retry.")
    return None


def client_failure_record(request: HttpRequest, client_id: str) -> None:
    """Count (and log) a failed client authentication; lock after TAHTO_CLIENT_AUTH_FAILURES."""
    limits.failure_record(
        "client-auth",
        _client_key(request, client_id),
        limits.Rate.parse(settings.TAHTO_CLIENT_AUTH_FAILURES),
        settings.TAHTO_CLIENT_AUTH_LOCKOUT_SECONDS,
    )
    event_record(Kind.CLIENT_AUTH_FAILED, request=request, who=client_id)


def token_rate_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap the token endpoint: at most TAHTO_TOKEN_RATE requests per client id and address
    (failed client authentications are locked out by ClientAuthLockoutMiddleware)."""

    @functools.wraps(view)  # keeps the view's csrf_exempt: the token endpoint is an API
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client_id = claimed_client_id(request)
        rate = limits.Rate.parse(settings.TAHTO_TOKEN_RATE)
        if seconds := limits.rate_take("token", _client_key(request, client_id), rate):
            refusal_record(Kind.RATE_LIMITED, request=request, who=client_id, limit="token")
            return too_many(seconds, "Too many token requests; wait and retry.")
        return view(request, *args, **kwargs)

    return wrapped
