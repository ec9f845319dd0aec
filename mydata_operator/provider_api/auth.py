"""Authenticating providers: by client credentials (HTTP Basic, as at the token endpoint)
for provider-level calls, by a consent-bound bearer token for data calls.

Every refusal is logged (without the credential) and answered with a problem+json body.
"""

import base64
import binascii
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from django.contrib.auth.hashers import check_password, identify_hasher
from django.utils.crypto import constant_time_compare
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken, Application
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from mydata_operator.identity.models import Provider

log = logging.getLogger("tahto.provider_api")


@dataclass(frozen=True)
class ProviderPrincipal:
    """The authenticated provider (what request.user is on provider-level endpoints)."""

    provider: Provider
    application: Application
    is_authenticated: bool = True

    @property
    def organisation_id(self) -> str:
        return self.provider.organisation_id


#: Client secrets verified recently: (stored hash, SHA-256 of the presented secret) -> until
#: when (monotonic). A stored secret is hashed with the password hasher (PBKDF2, about a
#: second of CPU on a loaded core): verifying it on every call made introspection 0.4-1
#: requests/s, 92% of its time in pbkdf2 (py-spy, `make bench`). Only successes are kept,
#: never the secret itself; a rotated secret has another stored hash, so it misses.
_VERIFIED: dict[tuple[str, bytes], float] = {}
VERIFIED_SECONDS = 300.0
_VERIFIED_MAX = 10_000


def _secret_ok(provided: str, stored: str) -> bool:
    try:
        identify_hasher(stored)
    except ValueError:  # an unhashed secret (DOT stores hashes unless told otherwise)
        return constant_time_compare(provided, stored)
    key = (stored, hashlib.sha256(provided.encode()).digest())
    now = time.monotonic()
    if _VERIFIED.get(key, 0.0) > now:
        return True
    if not check_password(provided, stored):
        return False
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = now + VERIFIED_SECONDS
    return True


def client_authenticate(client_id: str, secret: str) -> ProviderPrincipal | None:
    """The provider whose confidential client these credentials are, or None."""
    app = Application.objects.filter(client_id=client_id).first()
    if app is None or app.client_type != Application.CLIENT_CONFIDENTIAL:
        return None
    if not _secret_ok(secret, app.client_secret):
        return None
    provider = Provider.objects.filter(application=app).first()
    if provider is None:
        return None
    return ProviderPrincipal(provider=provider, application=app)


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(client_id, secret) from an HTTP Basic header (RFC 6749 §2.3.1 form-encoding)."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


class ClientCredentialsAuthentication(BaseAuthentication):
    """HTTP Basic with the provider's OAuth client id and secret."""

    def authenticate(self, request: Request) -> tuple[ProviderPrincipal, Provider] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        creds = basic_credentials(header)
        if creds is None:
            log.warning("provider API refused: malformed client credentials (%s)", request.path)
            raise exceptions.AuthenticationFailed(
                "Use HTTP Basic authentication with your client_id and client_secret."
            )
        principal = client_authenticate(*creds)
        if principal is None:
            log.warning("provider API refused: bad client credentials for %r", creds[0][:100])
            raise exceptions.AuthenticationFailed("Unknown client or wrong client secret.")
        return principal, principal.provider

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="tahto-provider-api"'


class ConsentTokenAuthentication(OAuth2Authentication):
    """A consent-bound bearer access token (DOT checks it; the binding is checked by the view)."""

    www_authenticate_realm = "tahto-provider-api"

    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        result = super().authenticate(request)
        if result is not None:
            return result
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.lower().startswith("bearer "):
            error = getattr(request, "oauth2_error", {}) or {}
            description = error.get("error_description") or "The access token is not valid."
            log.warning("provider API refused: bearer token not valid (%s)", request.path)
            raise exceptions.AuthenticationFailed(
                f"{description} It may have expired or been revoked, or its consent ended."
            )
        return None


class IsProvider(BasePermission):
    message = "Authenticate as a registered provider (HTTP Basic with your client credentials)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, ProviderPrincipal)


class HasConsentToken(BasePermission):
    message = "A bearer access token bound to a consent is required."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, AccessToken)


class ClientCredentialsScheme(OpenApiAuthenticationExtension):
    target_class = "mydata_operator.provider_api.auth.ClientCredentialsAuthentication"
    name = "clientCredentials"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "HTTP Basic with the provider's OAuth client_id and client_secret.",
        }


class ConsentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mydata_operator.provider_api.auth.ConsentTokenAuthentication"
    name = "consentBoundToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token from /o/token/, bound to one consent "
            "(authorization-code flow with PKCE S256 and authorization_details).",
        }
