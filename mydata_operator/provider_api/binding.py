"""Reading and ending the consent binding of authorizations and tokens.

The live state of the bound consent is asked from the policy decision point every time
(`consents.policy.decide_preview`, which moves no data and so logs nothing); a token is
active only while the consent it is bound to would still permit what it names.
"""

import hashlib
import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from oauth2_provider.models import AccessToken, RefreshToken

from consents.kinds import KINDS, kind_spec
from consents.models import Consent
from consents.policy import Decision, DecisionRequest, Flow, Reason, Recipient, decide_preview
from consents.states import FINAL
from mydata_operator.identity.models import Provider

from .models import ConsentAuthorization, TokenBinding

log = logging.getLogger("tahto.provider_api")

#: Consent kinds whose consents bind access tokens (data the provider fetches); each kind says.
TOKEN_KINDS = frozenset(code for code, kind in KINDS.items() if kind.token_bound)

#: Deny reasons that end a consent for good: its tokens are revoked when one is seen.
ENDED = frozenset({Reason.WITHDRAWN, Reason.REVOKED, Reason.TERMINATED, Reason.EXPIRED})

#: Deny reasons under which a token stays active (the consent is in force, only rate-limited).
STILL_ACTIVE = frozenset({Reason.PERMITTED, Reason.FREQUENCY})

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


def consent_liveness(
    *, lineage: UUID, subject_id: UUID, provider: Provider, at: datetime
) -> Decision:
    """Would the consent still permit its own scope to this provider now? Logs nothing."""
    consent = consent_current(lineage)
    scope = consent.scope if consent is not None and isinstance(consent.scope, dict) else {}
    return decide_preview(
        DecisionRequest(
            subject_id=subject_id,
            flow=Flow.PROVIDER_ACCESS,
            recipient=recipient_for(provider),
            at=at,
            purpose=str(scope.get("purpose", "")),
            data_categories=consent_categories(consent) if consent else frozenset(),
            consent_lineage=lineage,
        )
    )


def authorization_for_token(token_value_checksum: str) -> ConsentAuthorization | None:
    binding = (
        TokenBinding.objects.select_related("authorization")
        .filter(token_checksum=token_value_checksum)
        .first()
    )
    return binding.authorization if binding else None


def tokens_bind(
    *, authorization: ConsentAuthorization, token: dict[str, Any], at: datetime
) -> None:
    """Record that the access (and refresh) token in an OAuth token response use `authorization`."""
    for key, kind in (("access_token", TokenBinding.Kind.ACCESS), ("refresh_token", "refresh")):
        if value := token.get(key):
            TokenBinding.objects.create(
                token_checksum=checksum(value),
                kind=kind,
                authorization=authorization,
                created_at=at,
            )


@transaction.atomic
def tokens_revoke_for_consent(*, lineage: UUID, reason: str) -> int:
    """Revoke every access and refresh token bound to the consent; return how many."""
    checksums = list(
        TokenBinding.objects.filter(authorization__consent_lineage=lineage).values_list(
            "token_checksum", flat=True
        )
    )
    done = 0
    for access in AccessToken.objects.filter(token_checksum__in=checksums):
        access.revoke()
        done += 1
    for refresh in RefreshToken.objects.filter(token_checksum__in=checksums, revoked__isnull=True):
        refresh.revoke()
        done += 1
    if done:
        log.info("revoked %d tokens of consent %s: %s", done, lineage, reason)
    return done


def tokens_revoke_ended(*, at: datetime) -> int:
    """Revoke the tokens of every consent that has ended (withdrawn, expired, ...)."""
    lineages = set(
        ConsentAuthorization.objects.filter(tokens__isnull=False).values_list(
            "consent_lineage", flat=True
        )
    )
    done = 0
    for lineage in lineages:
        current = consent_current(lineage)
        if (
            current is None
            or current.status in FINAL  # the newest version: never superseded
            or (current.valid_until is not None and current.valid_until <= at)
        ):
            done += tokens_revoke_for_consent(lineage=lineage, reason="consent ended")
    return done
