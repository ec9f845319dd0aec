"""Authenticating providers, without shared secrets (FAPI 2.0):

- provider-level calls: `Authorization: Bearer <JWT>` where the JWT is one the client signed
  with its registered key (iss = sub = client id, aud = the issuer or the endpoint URL, short
  exp, single-use jti), checked by `client_keys.client_jwt_verify`: the same check as
  private_key_jwt at the token endpoint, about a millisecond, no password hash;
- data calls: `Authorization: DPoP <access token>` with a `DPoP` proof (RFC 9449) made with
  the key the token is bound to. A DPoP-bound token sent as a Bearer token is refused.

Every refusal is logged (without the credential) and answered with a problem+json body.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.models import AccessToken, Application
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from mydata_operator.identity.models import Provider
from mydata_operator.security.dpop import DpopInvalid, dpop_nonce, dpop_request_jkt

from . import binding
from .client_keys import ClientJwtInvalid, client_assertion_audiences, client_jwt_verify

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


class ClientCredentialsAuthentication(BaseAuthentication):
    """A JWT the provider's client signed with its registered key, as a Bearer credential."""

    def authenticate(self, request: Request) -> tuple[ProviderPrincipal, Provider] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            log.warning("provider API refused: not a client JWT (%s)", request.path)
            raise exceptions.AuthenticationFailed(
                "Send Authorization: Bearer <a JWT signed with your registered key>; "
                "client secrets are not accepted."
            )
        try:
            verified = client_jwt_verify(
                value.strip(), audiences=client_assertion_audiences(request.path)
            )
        except ClientJwtInvalid as exc:
            log.warning("provider API refused: client JWT (%s): %s", request.path, exc)
            raise exceptions.AuthenticationFailed(f"The client JWT is not valid: {exc}") from None
        provider = verified.provider
        if provider is None:
            raise exceptions.AuthenticationFailed("This client is not a registered provider.")
        principal = ProviderPrincipal(provider=provider, application=verified.application)
        return principal, provider

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="tahto-provider-api"'


class DpopChallenge(exceptions.AuthenticationFailed):
    """401 with the DPoP challenge (RFC 9449 §7.1) and the error the client must act on."""

    def __init__(self, detail: str, *, error: str = "invalid_token") -> None:
        super().__init__(detail)
        self.oauth_error = error


class ConsentTokenAuthentication(BaseAuthentication):
    """A consent-bound access token, used with a DPoP proof of its key (RFC 9449 §7).
    DOT's checks of the token (expiry, revocation) apply; the binding is checked by the view."""

    def _refuse(self, request: Request, detail: str, error: str = "invalid_token") -> None:
        log.warning("provider API refused: %s (%s)", detail, request.path)
        setattr(request._request, "tahto_dpop_error", error)  # noqa: B010 - read by the header
        raise DpopChallenge(detail, error=error)

    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            self._refuse(
                request,
                "Tokens are DPoP-bound: send Authorization: DPoP <token> with a DPoP proof.",
            )
        if scheme.lower() != "dpop" or not value:
            self._refuse(request, "Send Authorization: DPoP <access token>.", "invalid_request")
        # Token, client, provider, consent binding and DPoP key in one indexed query.
        token = binding.bearer_token_load(value)
        if token is None or not token.is_valid():
            self._refuse(
                request,
                "The access token is not valid. It may have expired or been revoked, "
                "or its consent ended.",
            )
        assert token is not None
        jkt = getattr(token, "tahto_jkt", "")
        if not jkt:
            self._refuse(request, "The access token is not bound to a DPoP key.")
        try:
            proof_jkt = dpop_request_jkt(request._request, access_token=value)
        except DpopInvalid as exc:
            self._refuse(request, f"DPoP proof refused: {exc}", exc.error)
            raise  # unreachable: _refuse raises
        if proof_jkt != jkt:
            self._refuse(request, "The DPoP proof is made with another key than the token's.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        error = getattr(request._request, "tahto_dpop_error", "invalid_token")
        algs = " ".join(a for a in ("PS256", "ES256", "EdDSA"))
        return f'DPoP error="{error}", algs="{algs}"'


def dpop_nonce_header() -> dict[str, str]:
    """The DPoP-Nonce response header, when nonces are required."""
    return {"DPoP-Nonce": dpop_nonce()} if settings.TAHTO_DPOP_NONCE_REQUIRED else {}


class IsProvider(BasePermission):
    message = "Authenticate as a registered provider (a JWT signed with your registered key)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, ProviderPrincipal)


class HasConsentToken(BasePermission):
    message = "A DPoP-bound access token for a consent is required."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, AccessToken)


class ClientCredentialsScheme(OpenApiAuthenticationExtension):
    target_class = "mydata_operator.provider_api.auth.ClientCredentialsAuthentication"
    name = "clientCredentials"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JWT the provider's client signed with its registered key "
            "(iss = sub = client_id, aud = the issuer, exp within 300 s, single-use jti).",
        }


class ConsentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mydata_operator.provider_api.auth.ConsentTokenAuthentication"
    name = "consentBoundToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "dpop",
            "description": "Authorization: DPoP <access token from /o/token/> with a DPoP "
            "proof header (RFC 9449); the token is bound to one consent (PAR, PKCE S256, "
            "authorization_details) and to the client's DPoP key.",
        }
