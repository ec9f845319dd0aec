"""Protections on every response: body size on API paths, no caching of personal pages, and
session idle and absolute timeouts.

Order in MIDDLEWARE: `BodyLimitMiddleware`, `ClientAuthLockoutMiddleware` and
`NoStoreMiddleware` right after WhiteNoise (static files, which carry no personal data, keep
their long cache lifetimes), and `SessionTimeoutMiddleware` right after
AuthenticationMiddleware.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from .clients import claimed_client_id, client_failure_record, client_locked_response
from .responses import too_large
from .sessions import SESSION_SEEN, SESSION_STARTED, session_stamp

Handler = Callable[[HttpRequest], HttpResponse]

#: Paths answered with problem+json (the APIs and the OAuth endpoints).
API_PREFIXES = ("/api/", "/o/token/", "/o/introspect/", "/o/revoke_token/")
#: Paths whose bodies are limited: the APIs and the CDS Hooks services (which authenticate
#: with a signed JWT, not a client secret, so they are not among the lockout's paths).
BODY_LIMIT_PREFIXES = (*API_PREFIXES, "/cds-services")

#: Last-seen is written at most this often (seconds), not on every request.
SEEN_RESOLUTION = 30


class BodyLimitMiddleware:
    """An API request whose body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE gets a 413
    problem+json before the body is read (Django alone answers an HTML 400)."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(BODY_LIMIT_PREFIXES):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if limit is not None and length > limit:
                return too_large()
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig) and request.path.startswith(
            BODY_LIMIT_PREFIXES
        ):
            return too_large()
        return None


class ClientAuthLockoutMiddleware:
    """On API paths, a client id that failed to authenticate TAHTO_CLIENT_AUTH_FAILURES times
    from an address is answered 429 from there for a while: guessing client secrets at the
    token, introspection, revocation or any Basic-authenticated provider endpoint stops."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIXES):
            return self.get_response(request)
        client_id = claimed_client_id(request)
        if client_id and (refused := client_locked_response(request, client_id)):
            return refused
        response = self.get_response(request)
        if client_id and response.status_code == 401:
            client_failure_record(request, client_id)
        return response


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response that does not set its own caching: pages
    and API answers carry personal data unless a view says otherwise (public keys, tree
    heads)."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


class SessionTimeoutMiddleware:
    """Sign a person out after TAHTO_SESSION_IDLE_SECONDS without a request, and in any case
    TAHTO_SESSION_ABSOLUTE_SECONDS after signing in."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            session = request.session
            now = time.time()
            started = session.get(SESSION_STARTED)
            seen = session.get(SESSION_SEEN)
            if not isinstance(started, int | float) or not isinstance(seen, int | float):
                session_stamp(request)
            elif (
                now - seen > settings.TAHTO_SESSION_IDLE_SECONDS
                or now - started > settings.TAHTO_SESSION_ABSOLUTE_SECONDS
            ):
                logout(request)  # flushes the session; the view sees an anonymous request
            elif now - seen >= SEEN_RESOLUTION:
                session[SESSION_SEEN] = now
        return self.get_response(request)
