"""Reading the consent binding of authorizations and tokens: which consent, which provider,
what the authorization granted. Whether a token is alive, and revoking tokens, is
`tokens.py`'s."""

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID

from oauth2_provider.models import AccessToken

from consents.kinds import KINDS, kind_spec
from consents.models import Consent
from consents.policy import Recipient
from mydata_operator.identity.models import Provider

from .models import ConsentAuthorization, TokenBinding

#: Consent kinds whose consents bind access tokens (data the provider fetches); each kind says.
TOKEN_KINDS = frozenset(code for code, kind in KINDS.items() if kind.token_bound)

AUTHORIZATION_DETAILS_TYPE = "tahto_consent"


def checksum(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def consent_current(lineage: UUID) -> Consent | None:
    """The newest version of a consent (the one in force, or the one that ended it)."""
    return Consent.objects.filter(lineage=lineage).order_by("-version").first()


def recipient_for(provider: Provider) -> Recipient:
    return Recipient(organisation=provider.organisation_id, kind=provider.kind)


def consent_categories(consent: Consent) -> frozenset[str]:
    scope = consent.scope if isinstance(consent.scope, dict) else {}
    return kind_spec(consent.kind).data_categories(scope)


def granted(
    authorization: ConsentAuthorization,
) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """The data categories and actions the authorization_details granted (None: not named,
    so the whole consent)."""
    details = authorization.authorization_details
    item = details[0] if isinstance(details, list) and details else {}
    item = item if isinstance(item, dict) else {}

    def named(key: str) -> frozenset[str] | None:
        value = item.get(key)
        return frozenset(str(v) for v in value) if isinstance(value, list) else None

    return named("datatypes"), named("actions")


def authorization_for_token(token_value_checksum: str) -> ConsentAuthorization | None:
    binding = (
        TokenBinding.objects.select_related("authorization")
        .filter(token_checksum=token_value_checksum)
        .first()
    )
    return binding.authorization if binding else None


def token_jkt(token_value_checksum: str) -> str:
    """The DPoP key thumbprint a token is bound to ("" if none)."""
    return (
        TokenBinding.objects.filter(token_checksum=token_value_checksum)
        .values_list("jkt", flat=True)
        .first()
        or ""
    )


def bearer_token_load(value: str) -> AccessToken | None:
    """The access token of a bearer value, with its client, the client's provider and the
    token's consent binding, in one query on unique indexes (the binding's primary key, DOT's
    token checksum, the client's and provider's keys); `token_context` then reads them
    without another query. None when the value is no bound access token."""
    row = (
        TokenBinding.objects.select_related(
            "authorization", "access_token__application__provider", "access_token__user"
        )
        .filter(token_checksum=checksum(value), kind=TokenBinding.Kind.ACCESS)
        .first()
    )
    if row is None or row.access_token is None:
        return None
    token: AccessToken = row.access_token
    token.tahto_authorization = row.authorization  # type: ignore[attr-defined]  # cached read
    token.tahto_jkt = row.jkt  # type: ignore[attr-defined]  # the DPoP key it is bound to
    return token


def token_context(token: AccessToken) -> tuple[ConsentAuthorization | None, Provider | None]:
    """The consent authorization a token is bound to and the provider whose client holds it:
    as `bearer_token_load` read them, or read now (two queries) for a token loaded otherwise."""
    authorization = getattr(token, "tahto_authorization", None)
    if authorization is None:
        authorization = authorization_for_token(token.token_checksum)
        provider = Provider.objects.filter(application_id=token.application_id).first()
        return authorization, provider
    # Loaded with the token: a client without a provider reads as None (no query).
    return authorization, getattr(token.application, "provider", None)


def tokens_bind(
    *, authorization: ConsentAuthorization, token: dict[str, Any], at: datetime, jkt: str
) -> None:
    """Record that the access (and refresh) token in an OAuth token response use
    `authorization` and are bound to the DPoP key `jkt`."""
    for key, kind in (("access_token", TokenBinding.Kind.ACCESS), ("refresh_token", "refresh")):
        if value := token.get(key):
            TokenBinding.objects.create(
                token_checksum=checksum(value),
                kind=kind,
                authorization=authorization,
                created_at=at,
                jkt=jkt,
            )
