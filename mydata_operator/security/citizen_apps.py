"""Citizens' own apps: their authorizations and DPoP-bound tokens, the one home of the rules.

A citizen app is an OAuth client of its own kind (`ClientProfile.kind == "citizen-app"`): a
public native or browser app (PKCE S256, no secret) that a citizen authorizes to use the
citizen API (/api/v1/me/...) for them. Its tokens are kept here, apart from provider tokens
(DOT's tables, bound to one consent): a lookup of one kind never finds the other.

Rules (all here, called by the authorization server, the citizen API and the dashboard):
- scopes: `consents:read` (list and view consents, history, receipts), `consents:write`
  (pause, resume, withdraw);
- every token is DPoP-bound (RFC 9449) to the key of the proof sent at the token endpoint;
- step-up: writing needs a proof of identity within TAHTO_STEP_UP_SECONDS. A write token's
  lifetime ends when the step-up it was granted after goes stale, and a write grant gets no
  refresh token: the app sends the citizen back to authorize (with a fresh step-up). A
  read-only grant gets a refresh token (rotated on each use);
- revoking the authorization (dashboard) ends all its tokens at the next request;
- redirect URIs (`redirect_uri_problem`, `redirect_uri_registered`): exact https, or the two
  forms RFC 8252 gives native apps: a private-use scheme named by a reverse domain
  (`fi.example.app:/callback`, §7.1) matched exactly, and loopback
  `http://127.0.0.1:{port}/path` or `http://[::1]:{port}/path` (§7.3), where only the port
  may differ from the registered one. Never `localhost` (§8.3). Provider clients keep the
  FAPI 2.0 rule, exact https (`provider_api.fapi.redirect_uri_registered`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from .models import CitizenAppAuthorization, CitizenAppToken

SCOPE_READ = "consents:read"
SCOPE_WRITE = "consents:write"
#: The scopes a citizen app may ask for, in the order the authorize page lists them.
SCOPES = (SCOPE_READ, SCOPE_WRITE)
CODE_LIFETIME = timedelta(seconds=60)
READ_TOKEN_LIFETIME = timedelta(hours=1)
REFRESH_LIFETIME = timedelta(days=30)


class AppGrantInvalid(ValueError):
    """An OAuth error (RFC 6749 §5.2) at the token endpoint or the authorize page."""

    def __init__(self, description: str, error: str = "invalid_grant") -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _checksum(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def step_up_window() -> timedelta:
    return timedelta(seconds=settings.TAHTO_STEP_UP_SECONDS)


def scopes_parse(raw: str | None) -> tuple[str, ...]:
    """The asked scopes, known ones only, in our order; refused if empty or unknown."""
    asked = set((raw or "").split())
    if not asked:
        raise AppGrantInvalid(
            f"scope is required: one or both of {' '.join(SCOPES)}", "invalid_scope"
        )
    unknown = asked - set(SCOPES)
    if unknown:
        raise AppGrantInvalid(
            f"unknown scope {' '.join(sorted(unknown))}; use {' '.join(SCOPES)}", "invalid_scope"
        )
    return tuple(s for s in SCOPES if s in asked)


# --- Redirect URIs (RFC 8252) ------------------------------------------------------------

#: Schemes that are never an app's own: the web's, and those a browser or OS runs or reads.
FORBIDDEN_SCHEMES = frozenset(
    {
        "about", "blob", "content", "data", "file", "filesystem", "ftp", "intent",
        "javascript", "mailto", "sms", "tel", "vbscript", "view-source", "ws", "wss",
    }
)  # fmt: skip
#: A reverse domain name (RFC 8252 §7.1): labels of letters, digits and hyphens, at least one
#: dot, the first label starting with a letter (a URI scheme must, RFC 3986 §3.1).
_REVERSE_DOMAIN = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+", re.ASCII)
#: A loopback redirect (RFC 8252 §7.3): the IP literal, an optional port, then path and query.
_LOOPBACK = re.compile(
    r"http://(?P<host>127\.0\.0\.1|\[::1\])(?::(?P<port>[0-9]{1,5}))?(?P<rest>[/?].*)?",
    re.ASCII,
)


@dataclass(frozen=True)
class _Loopback:
    host: str
    port: int | None
    rest: str


def _loopback(uri: str) -> _Loopback | None:
    match = _LOOPBACK.fullmatch(uri)
    if match is None:
        return None
    port = int(match["port"]) if match["port"] is not None else None
    if port is not None and not 1 <= port <= 65535:
        return None
    return _Loopback(host=match["host"], port=port, rest=match["rest"] or "")


def redirect_uri_problem(uri: str) -> str | None:
    """Why a citizen app may not register this redirect URI, in words that name the fix; None
    if it may. Allowed: https with a host; loopback http on 127.0.0.1 or [::1]; a private-use
    scheme that is a reverse domain name, followed by a path with one slash (RFC 8252 §7)."""
    if not uri:
        return "the redirect URI is empty"
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F or c == "\\" for c in uri):
        return "it has spaces, control or non-ASCII characters or backslashes (percent-encode them)"
    if "#" in uri:
        return "a redirect URI has no fragment (#) (RFC 6749 §3.1.2)"
    scheme, colon, rest = uri.partition(":")
    if not colon or not scheme:
        return "it has no scheme: use https://, http://127.0.0.1 or an app's own scheme"
    lowered = scheme.lower()
    if lowered == "https":
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            return "it is not a valid https URI (host or port)"
        if not rest.startswith("//") or not parts.hostname or "@" in parts.netloc:
            return "an https redirect URI names a host, with no user name or password"
        return None
    if lowered == "http":
        if _loopback(uri) is not None:
            return None
        try:
            host = urlsplit(uri).hostname or ""
        except ValueError:
            host = ""
        if host == "localhost" or host.endswith(".localhost"):
            return (
                "localhost is not accepted (RFC 8252 §8.3): use http://127.0.0.1:{port}/path "
                "or http://[::1]:{port}/path"
            )
        return (
            "http is only for loopback: http://127.0.0.1:{port}/path or "
            "http://[::1]:{port}/path, port 1-65535 (RFC 8252 §7.3); otherwise use https"
        )
    if lowered in FORBIDDEN_SCHEMES:
        return f"the scheme {scheme}: is not an app's own; use a reverse domain name you control"
    if scheme != lowered:
        return f"write the scheme in lower case ({lowered}:), as it is matched exactly"
    if not _REVERSE_DOMAIN.fullmatch(scheme):
        return (
            f"the scheme {scheme}: is not a reverse domain name: an app's own scheme names a "
            "domain its publisher controls, with at least one dot, e.g. "
            "fi.example.app:/callback (RFC 8252 §7.1)"
        )
    if not rest.startswith("/") or rest.startswith("//"):
        return (
            f"after the app's own scheme comes a path with a single slash, e.g. {scheme}:/callback "
            "(RFC 8252 §7.1)"
        )
    return None


def redirect_uri_matches(registered: str, uri: str) -> bool:
    """Does `uri` match this registered redirect URI? Character for character (and still of an
    allowed form), except a loopback one, whose port may differ (RFC 8252 §7.3): the app
    listens on whatever port the OS gave it. Same IP literal, same path and query."""
    if uri == registered:
        return redirect_uri_problem(uri) is None
    ours, theirs = _loopback(registered), _loopback(uri)
    return (
        ours is not None
        and theirs is not None
        and ours.host == theirs.host
        and ours.rest == theirs.rest
    )


def redirect_uri_registered(registered: Iterable[str], uri: str | None) -> bool:
    """Is `uri` one a citizen app may be sent to, given the URIs it registered?"""
    return bool(uri) and any(redirect_uri_matches(r, str(uri)) for r in registered)


def app_authorization_create(
    *,
    application: Any,
    user: Any,
    scopes: tuple[str, ...],
    redirect_uri: str,
    code_challenge: str,
    step_up_at: datetime,
    at: datetime,
) -> str:
    """Record the citizen's approval; return the authorization code (kept only as SHA-256)."""
    code = secrets.token_urlsafe(32)
    CitizenAppAuthorization.objects.create(
        application=application,
        user=user,
        scopes=" ".join(scopes),
        code_checksum=_checksum(code),
        code_challenge=code_challenge,
        redirect_uri=redirect_uri,
        code_expires_at=at + CODE_LIFETIME,
        step_up_at=step_up_at,
        created_at=at,
    )
    return code


def _pkce_ok(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return 43 <= len(verifier) <= 128 and hmac.compare_digest(computed, challenge)


def _issue(authorization: CitizenAppAuthorization, *, jkt: str, at: datetime) -> dict[str, Any]:
    scopes = authorization.scopes.split()
    if SCOPE_WRITE in scopes:
        expires = min(at + READ_TOKEN_LIFETIME, authorization.step_up_at + step_up_window())
    else:
        expires = at + READ_TOKEN_LIFETIME
    access = secrets.token_urlsafe(32)
    CitizenAppToken.objects.create(
        token_checksum=_checksum(access),
        kind=CitizenAppToken.Kind.ACCESS,
        authorization=authorization,
        jkt=jkt,
        expires_at=expires,
        created_at=at,
    )
    answer: dict[str, Any] = {
        "access_token": access,
        "token_type": "DPoP",
        "expires_in": max(0, int((expires - at).total_seconds())),
        "scope": authorization.scopes,
    }
    if SCOPE_WRITE not in scopes:  # a write grant is never refreshed past its step-up
        refresh = secrets.token_urlsafe(32)
        CitizenAppToken.objects.create(
            token_checksum=_checksum(refresh),
            kind=CitizenAppToken.Kind.REFRESH,
            authorization=authorization,
            jkt=jkt,
            expires_at=at + REFRESH_LIFETIME,
            created_at=at,
        )
        answer["refresh_token"] = refresh
    return answer


def app_code_exchange(
    *,
    application: Any,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    jkt: str,
    at: datetime,
) -> dict[str, Any]:
    """Exchange a code for DPoP-bound tokens. A code works once; a second use revokes the
    authorization (a replayed code is a stolen code, RFC 9700 §4.2.4)."""
    with transaction.atomic():  # the revocation of a replay commits; the refusal follows
        authorization = (
            CitizenAppAuthorization.objects.select_for_update()
            .filter(code_checksum=_checksum(code), application=application)
            .first()
        )
        if authorization is None:
            raise AppGrantInvalid("the authorization code is unknown")
        replayed = authorization.code_used_at is not None
        if replayed:
            authorization.revoked_at = authorization.revoked_at or at
            authorization.save(update_fields=["revoked_at"])
        else:
            authorization.code_used_at = at
            authorization.save(update_fields=["code_used_at"])
    if replayed:
        raise AppGrantInvalid("the authorization code was used before; its tokens are revoked")
    if authorization.revoked_at is not None or authorization.code_expires_at <= at:
        raise AppGrantInvalid("the authorization code has expired")
    if authorization.redirect_uri != redirect_uri:
        raise AppGrantInvalid("redirect_uri differs from the authorization request's")
    if not _pkce_ok(code_verifier, authorization.code_challenge):
        raise AppGrantInvalid("code_verifier does not match the code_challenge (PKCE S256)")
    return _issue(authorization, jkt=jkt, at=at)


def app_token_refresh(
    *, application: Any, refresh_token: str, jkt: str, at: datetime
) -> dict[str, Any]:
    """New tokens for a read-only grant; the refresh token rotates and stays on its DPoP key.
    A rotated-out refresh token used again revokes the authorization (someone copied it)."""
    with transaction.atomic():
        token = (
            CitizenAppToken.objects.select_for_update()
            .select_related("authorization")
            .filter(
                token_checksum=_checksum(refresh_token),
                kind=CitizenAppToken.Kind.REFRESH,
                authorization__application=application,
            )
            .first()
        )
        if token is None or token.expires_at <= at or token.authorization.revoked_at is not None:
            raise AppGrantInvalid("the refresh token is not valid")
        if token.jkt != jkt:
            raise AppGrantInvalid(
                "the refresh token is bound to another DPoP key", "invalid_dpop_proof"
            )
        replayed = token.used_at is not None
        if replayed:
            token.authorization.revoked_at = at
            token.authorization.save(update_fields=["revoked_at"])
        else:
            token.used_at = at
            token.save(update_fields=["used_at"])
            return _issue(token.authorization, jkt=jkt, at=at)
    raise AppGrantInvalid("the refresh token was used before; the authorization is revoked")


@dataclass(frozen=True)
class AppAccess:
    """What a valid citizen-app access token lets its bearer (with the key) do."""

    user: Any
    authorization: CitizenAppAuthorization
    scopes: frozenset[str]
    jkt: str

    def step_up_fresh(self, at: datetime) -> bool:
        """Was the step-up the app's grant was approved with younger than the window?"""
        return at - self.authorization.step_up_at <= step_up_window()

    def may_write(self, at: datetime) -> bool:
        """A write needs the write scope and a step-up younger than the step-up window."""
        return SCOPE_WRITE in self.scopes and self.step_up_fresh(at)


def app_access_for(token_value: str, *, at: datetime) -> AppAccess | None:
    """The access a citizen-app access token gives, or None: unknown (provider tokens are not
    here), expired, or its authorization revoked."""
    token = (
        CitizenAppToken.objects.select_related("authorization", "authorization__user")
        .filter(token_checksum=_checksum(token_value), kind=CitizenAppToken.Kind.ACCESS)
        .first()
    )
    if token is None or token.expires_at <= at or token.authorization.revoked_at is not None:
        return None
    authorization = token.authorization
    if not authorization.user.is_active:
        return None
    return AppAccess(
        user=authorization.user,
        authorization=authorization,
        scopes=frozenset(authorization.scopes.split()),
        jkt=token.jkt,
    )


def app_authorizations_of(user: Any) -> list[CitizenAppAuthorization]:
    """The apps the citizen has authorized and not revoked, newest first (one per approval)."""
    return list(
        CitizenAppAuthorization.objects.filter(
            user=user, revoked_at__isnull=True, code_used_at__isnull=False
        )
        .select_related("application")
        .order_by("-created_at")
    )


def app_authorization_revoke(*, user: Any, authorization_id: Any, at: datetime) -> bool:
    """Revoke one of the citizen's app authorizations (and so all its tokens); False if it is
    not theirs or already revoked."""
    updated = CitizenAppAuthorization.objects.filter(
        id=authorization_id, user=user, revoked_at__isnull=True
    ).update(revoked_at=at)
    return updated == 1


def app_authorizations_revoke_for_client(
    *, application_id: int, at: datetime, redirect_uris: Collection[str] | None = None
) -> int:
    """Revoke the app's authorizations (their codes and every token they yielded), only those
    whose code went to one of `redirect_uris` if given; return how many. Operator staff's
    change of an app's redirect URIs calls it for the URIs taken away."""
    authorizations = CitizenAppAuthorization.objects.filter(
        application_id=application_id, revoked_at__isnull=True
    )
    if redirect_uris is not None:
        removed = set(redirect_uris)
        # Exactly these URIs (whatever their form: an old localhost one too), in the database;
        # and a removed loopback URI's codes on other ports, among the loopback rows only.
        chosen = Q(redirect_uri__in=removed)
        if loopback := [uri for uri in removed if _loopback(uri) is not None]:
            other_ports = [
                a.pk
                for a in authorizations.filter(redirect_uri__startswith="http://")
                .exclude(redirect_uri__in=removed)
                .only("pk", "redirect_uri")
                if any(redirect_uri_matches(r, a.redirect_uri) for r in loopback)
            ]
            chosen |= Q(pk__in=other_ports)
        authorizations = authorizations.filter(chosen)
    return authorizations.update(revoked_at=at)


def app_authorizations_revoke_for_user(*, user_id: int, at: datetime) -> int:
    """Revoke every app authorization of this user (their codes and every token they
    yielded); return how many. Operator staff turning the account off calls it, so turning
    it on again brings no app's tokens back: each app asks the citizen again."""
    return CitizenAppAuthorization.objects.filter(user_id=user_id, revoked_at__isnull=True).update(
        revoked_at=at
    )
