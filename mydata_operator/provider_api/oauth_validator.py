"""The OAuth validator: DOT's, plus the consent binding (RFC 9396 authorization_details).

Hooks used, nothing forked:
- `save_authorization_code`: the authorize view put the approved consent on the oauthlib
  request (through the credentials); bind the code to it.
- `validate_code`: the code must be bound, and its consent still in force, at exchange.
- `validate_refresh_token`: a refresh token works only while its consent is in force.
- `save_bearer_token`: bind the new access and refresh tokens, and echo the
  authorization_details in the token response (RFC 9396 §7).
"""

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2 import InvalidRequestError

from mydata_operator.identity.models import Provider

from . import binding, tokens
from .models import ConsentAuthorization

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
        ok = bool(super().authenticate_client(request, *args, **kwargs))
        if not ok:
            log.warning("client authentication failed at the token endpoint")
        return ok

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
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            log.warning(
                "token refused: unknown, used or expired authorization code (%s)", client_id
            )
            return False
        authorization = ConsentAuthorization.objects.filter(
            code_checksum=binding.checksum(code), client_id=client_id
        ).first()
        if authorization is None or not self._still_in_force(authorization, request):
            return False
        request.tahto_authorization = authorization
        return True

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        authorization = binding.authorization_for_token(binding.checksum(refresh_token))
        if authorization is None or not self._still_in_force(authorization, request):
            return False
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
        with transaction.atomic():  # the token and its binding exist together or not at all
            super().save_bearer_token(token, request, *args, **kwargs)
            binding.tokens_bind(authorization=authorization, token=token, at=timezone.now())
        token["authorization_details"] = authorization.authorization_details
