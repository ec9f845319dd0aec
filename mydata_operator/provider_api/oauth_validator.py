"""The OAuth validator: DOT's, plus the consent binding (RFC 9396 authorization_details) and
the FAPI 2.0 Security Profile.

Hooks used, nothing forked:
- `authenticate_client`: private_key_jwt (RFC 7523) only, with the client's registered keys
  (`client_keys.client_assertion_verify`); no shared secret, in the header or the body.
- `validate_redirect_uri` / `confirm_redirect_uri`: exact match, https unless a demo client
  (`fapi.redirect_uri_registered`).
- the Grant lookups (`_create_authorization_code`, `validate_code`, ...): codes are kept
  only as their SHA-256; a replayed code revokes every token issued from it.
- `validate_code` / `validate_refresh_token`: a DPoP proof (RFC 9449) is required; a
  refresh token works only with the key its tokens are bound to.
- `save_authorization_code`: the authorize view put the approved consent on the oauthlib
  request (through the credentials); bind the code to it.
- `validate_code`: the code must be bound, and its consent still in force, at exchange.
- `validate_refresh_token`: a refresh token works only while its consent is in force.
- `save_bearer_token`: bind the new access and refresh tokens, and echo the
  authorization_details in the token response (RFC 9396 §7).
"""

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_grant_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2 import InvalidRequestError, Server
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error, UnsupportedResponseTypeError

from mydata_operator.identity.models import Provider
from mydata_operator.security.dpop import DpopInvalid, dpop_verify

from . import binding, fapi, tokens
from .client_keys import ClientJwtInvalid, client_assertion_verify
from .models import ConsentAuthorization

TOKEN_PATH = "/o/token/"  # noqa: S105 - a URL path, not a secret


class FapiServer(Server):
    """oauthlib's server with only what this service does: the authorization-code grant (code
    response type) and refresh tokens. Anything else is unsupported_grant_type or
    unsupported_response_type (not unauthorized_client)."""

    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(request_validator, *args, **kwargs)
        self._grant_types = {
            "authorization_code": self.auth_grant,
            "refresh_token": self.refresh_grant,
        }
        self._response_types = {"code": self.auth_grant}


def dpop_error(exc: DpopInvalid) -> CustomOAuth2Error:
    return CustomOAuth2Error(error=exc.error, description=exc.description, status_code=400)


def _header(request: OAuthlibRequest, name: str) -> str | None:
    headers = request.headers or {}
    value = headers.get(name) or headers.get("HTTP_" + name.upper().replace("-", "_"))
    return str(value) if value else None


def _token_urls(request: OAuthlibRequest) -> tuple[str, ...]:
    """Where a token request may have been sent: the public URL, or the URL it arrived at
    (DOT hands oauthlib the path; the scheme and host come from the WSGI environment)."""
    headers = request.headers or {}
    path = urlsplit(str(request.uri or "")).path
    scheme = headers.get("wsgi.url_scheme", "https")
    host = headers.get("HTTP_HOST") or headers.get("SERVER_NAME", "")
    port = str(headers.get("SERVER_PORT") or "")
    if (
        not headers.get("HTTP_HOST")
        and port
        and port != {"http": "80", "https": "443"}.get(scheme, "")
    ):
        host = f"{host}:{port}"
    arrived = f"{scheme}://{host}{path}"
    return (f"{settings.TAHTO_PUBLIC_URL}{TOKEN_PATH}", arrived)


log = logging.getLogger("tahto.provider_api")


def _provider(request: OAuthlibRequest) -> Provider | None:
    client = getattr(request, "client", None)
    if client is None:
        return None
    return Provider.objects.filter(application_id=client.pk).first()


class ConsentBoundValidator(OAuth2Validator):
    def save_authorization_code(
        self,
        client_id: str,
        code: dict[str, Any],
        request: OAuthlibRequest,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        consent = getattr(request, "tahto_consent", None)
        if not consent:
            raise InvalidRequestError(
                description="authorization_details naming a consent is required.", request=request
            )
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        ConsentAuthorization.objects.create(
            consent_lineage=consent["lineage"],
            consent_version=consent["version"],
            subject_id=consent["subject_id"],
            organisation_id=consent["organisation_id"],
            client_id=client_id,
            authorized_by=consent["authorized_by"],
            authorization_details=consent["authorization_details"],
            code_checksum=binding.checksum(code["code"]),
            created_at=timezone.now(),
        )

    def _load_access_token(self, token: str) -> Any:
        # The bearer check: token, client, provider and consent binding in one indexed query
        # (binding.bearer_token_load); DOT's own read only for a token bound to no consent.
        return binding.bearer_token_load(token) or super()._load_access_token(token)

    def authenticate_client(self, request: OAuthlibRequest, *args: Any, **kwargs: Any) -> bool:
        """private_key_jwt only: client_secret_basic and client_secret_post are refused."""
        path = urlsplit(str(request.uri or "")).path or TOKEN_PATH
        try:
            verified = client_assertion_verify(
                assertion_type=getattr(request, "client_assertion_type", None),
                assertion=getattr(request, "client_assertion", None),
                client_id=request.client_id,
                path=path,
            )
        except ClientJwtInvalid as exc:
            log.warning("client authentication failed at %s: %s", path, exc)
            return False
        request.client = verified.application
        request.client_id = verified.application.client_id
        return True

    def client_authentication_required(
        self, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> bool:
        return True  # every client is confidential; none is trusted by its id alone

    def validate_response_type(
        self,
        client_id: str,
        response_type: str,
        client: Any,
        request: OAuthlibRequest,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        if response_type != "code":  # not "this client may not", but "this server does not"
            raise UnsupportedResponseTypeError(request=request)
        return bool(super().validate_response_type(client_id, response_type, client, request))

    def validate_redirect_uri(
        self, client_id: str, redirect_uri: str, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> bool:
        return fapi.redirect_uri_registered(request.client, redirect_uri)

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Any,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        grant = self._grant(code, client)
        return grant is not None and grant.redirect_uri == redirect_uri

    # --- codes kept as SHA-256 (DOT keeps them as they are) --------------------------------

    @staticmethod
    def _grant(code: str, client: Any) -> Any:
        return (
            get_grant_model()
            .objects.filter(code=binding.checksum(code), application=client)
            .first()
        )

    def _create_authorization_code(
        self, request: OAuthlibRequest, code: dict[str, Any], expires: Any = None
    ) -> Any:
        return super()._create_authorization_code(
            request, {**code, "code": binding.checksum(code["code"])}, expires
        )

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> None:
        super().invalidate_authorization_code(
            client_id, binding.checksum(code), request, *args, **kwargs
        )

    def get_code_challenge(self, code: str, request: OAuthlibRequest) -> str | None:
        return super().get_code_challenge(binding.checksum(code), request)  # type: ignore[no-any-return]

    def get_code_challenge_method(self, code: str, request: OAuthlibRequest) -> str | None:
        return super().get_code_challenge_method(binding.checksum(code), request)  # type: ignore[no-any-return]

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: OAuthlibRequest
    ) -> list[str]:
        return super().get_authorization_code_scopes(  # type: ignore[no-any-return]
            client_id, binding.checksum(code), redirect_uri, request
        )

    def get_authorization_code_nonce(
        self, client_id: str, code: str, redirect_uri: str, request: OAuthlibRequest
    ) -> str | None:
        return super().get_authorization_code_nonce(  # type: ignore[no-any-return]
            client_id, binding.checksum(code), redirect_uri, request
        )

    def _dpop_jkt(self, request: OAuthlibRequest) -> str:
        try:
            return dpop_verify(_header(request, "DPoP"), method="POST", urls=_token_urls(request))
        except DpopInvalid as exc:
            log.warning("token refused: DPoP proof (%s): %s", request.client_id, exc)
            raise dpop_error(exc) from None

    def _still_in_force(
        self, authorization: ConsentAuthorization, request: OAuthlibRequest
    ) -> bool:
        provider = _provider(request)
        if provider is None:
            return False
        return tokens.token_alive(authorization=authorization, provider=provider, at=timezone.now())

    def validate_code(
        self,
        client_id: str,
        code: str,
        client: Any,
        request: OAuthlibRequest,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        digest = binding.checksum(code)
        if not super().validate_code(client_id, digest, client, request, *args, **kwargs):
            log.warning(
                "token refused: unknown, used or expired authorization code (%s)", client_id
            )
            # RFC 6749 §4.1.2 / RFC 9700 §4.2.4: a code used twice is a stolen code; the
            # tokens it already yielded are revoked.
            used = ConsentAuthorization.objects.filter(code_checksum=digest).first()
            if used is not None and used.tokens.exists():
                tokens.tokens_revoke_for_authorization(authorization=used, reason="code replayed")
            return False
        authorization = ConsentAuthorization.objects.filter(
            code_checksum=digest, client_id=client_id
        ).first()
        if authorization is None or not self._still_in_force(authorization, request):
            return False
        request.tahto_dpop_jkt = self._dpop_jkt(request)
        request.tahto_authorization = authorization
        return True

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        digest = binding.checksum(refresh_token)
        authorization = binding.authorization_for_token(digest)
        if authorization is None or not self._still_in_force(authorization, request):
            return False
        jkt = self._dpop_jkt(request)
        if jkt != binding.token_jkt(digest):
            log.warning("token refused: refresh token used with another DPoP key (%s)", client)
            raise dpop_error(DpopInvalid("the refresh token is bound to another DPoP key"))
        request.tahto_dpop_jkt = jkt
        request.tahto_authorization = authorization
        return True

    def save_bearer_token(
        self, token: dict[str, Any], request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> None:
        authorization = getattr(request, "tahto_authorization", None)
        if authorization is None:
            # Only consent-bound grants reach here (authorization code, refresh); anything
            # else (a grant type a client was registered for by mistake) gets no token.
            raise InvalidRequestError(description="Tokens are only issued for a consent.")
        jkt = getattr(request, "tahto_dpop_jkt", None)
        if not jkt:
            raise InvalidRequestError(description="A DPoP proof is required.")
        with transaction.atomic():  # the token and its binding exist together or not at all
            super().save_bearer_token(token, request, *args, **kwargs)
            binding.tokens_bind(
                authorization=authorization, token=token, at=timezone.now(), jkt=jkt
            )
        token["token_type"] = "DPoP"  # noqa: S105 - RFC 9449 §5 token type
        token["authorization_details"] = authorization.authorization_details
