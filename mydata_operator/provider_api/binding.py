"""Reading the consent binding of authorizations and tokens: which consent, which provider,
what the authorization granted. Whether a token is alive, and revoking tokens, is
`tokens.py`'s."""

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID

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
