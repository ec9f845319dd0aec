"""Whether a consent-bound token is alive, and the one place that revokes tokens.

A token is alive while DOT holds it valid (not expired, not revoked) and the consent it is
bound to would still permit, to this provider, what the token was granted: the policy
decision point answers (`consents.policy`), and its own reasons say what "ended" means
(`policy.STANDING`: alive; `policy.HALTED`: withdrawn, revoked, terminated, expired or
paused, so its tokens are revoked). Every check (the data call, introspection, the token
endpoint) asks here.

Tokens are revoked by `tokens_revoke_for_consent` only, which two things call: the log
handler `tokens_revoke_follow` (a consent-ending entry in the consent log revokes the
tokens of that consent; it keeps its own cursor and is safe to run twice), and a check that
finds the consent halted before the handler has run. Operator staff's changes of what a token
depended on (a person's identity code, a provider's organisation id) end tokens through
`tokens_revoke_for_subject` and `tokens_revoke_for_client`, and the codes and pushed requests
not yet exchanged through `codes_end_for_subject` and `codes_end_for_client`, in the
transaction of the change.
"""

import calendar
import json
import logging
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from itertools import islice
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken, get_grant_model

from connectors.models import LogCursor
from consents.log import iter_integrated
from consents.models import Consent, LogEntry
from consents.policy import (
    HALTED,
    STANDING,
    Decision,
    DecisionRequest,
    Flow,
    consents_for_decision,
    decide_standing,
    status_reason,
)
from mydata_operator.identity.models import Provider

from . import binding
from .auth import ProviderPrincipal
from .authorization import DetailsError, details_parse
from .fapi import ANSWER_WINDOW
from .models import ConsentAuthorization, PushedAuthorizationRequest, TokenBinding

log = logging.getLogger("tahto.provider_api")

#: The log cursor of the revocation handler (beside the connectors' follower's).
REVOCATION_CURSOR = "provider_api.tokens"


def token_liveness(
    *,
    authorization: ConsentAuthorization,
    provider: Provider,
    at: datetime,
    consents: list[Consent] | None = None,
) -> Decision:
    """Would the token's consent still permit what the token was granted, now? Logs
    nothing (moves no data); revokes the consent's tokens when the consent has halted.
    One query: the consent's versions in force or ended (`consents_for_decision`); today's
    uses are not counted, as a used-up daily limit does not end a token (`decide_standing`).
    `consents`: those versions, when the caller read them with the token."""
    categories, actions = binding.granted(authorization)
    request = DecisionRequest(
        subject_id=authorization.subject_id,
        flow=Flow.PROVIDER_ACCESS,
        recipient=binding.recipient_for(provider),
        at=at,
        consent_lineage=authorization.consent_lineage,
        granted_actions=actions,
    )
    if consents is None:
        consents = consents_for_decision(request)
    if categories is None:  # not narrowed by the token: what the newest version names
        newest = max(consents, key=lambda consent: consent.version, default=None)
        categories = binding.consent_categories(newest) if newest else frozenset()
    decision = decide_standing(replace(request, data_categories=categories), consents)
    tokens_settle(lineage=authorization.consent_lineage, decision=decision)
    return decision


def token_introspect(*, value: str, principal: ProviderPrincipal, issuer: str) -> dict[str, Any]:
    """RFC 7662 introspection of a token for the client it was issued to: inactive unless
    DOT holds it valid (not expired; a revoked token's row is gone), it is this client's, and
    `token_alive` says its consent stands. One query: the token with its consent binding and
    the consent's versions (`binding.token_facts`)."""
    now = timezone.now()
    facts = binding.token_facts(value)
    if facts is None or facts.expires <= now or facts.application_id != principal.application.pk:
        return {"active": False}
    authorization = facts.authorization
    if not token_alive(
        authorization=authorization, provider=principal.provider, at=now, consents=facts.consents
    ):
        return {"active": False}
    answer = {
        "active": True,
        "scope": facts.scope,
        "client_id": principal.application.client_id,
        "token_type": "DPoP" if facts.jkt else "Bearer",
        "exp": int(calendar.timegm(facts.expires.utctimetuple())),
        "iat": int(calendar.timegm(facts.created.utctimetuple())),
        "iss": issuer,
        "consent_id": str(authorization.consent_lineage),
        "authorization_details": authorization.authorization_details,
    }
    if facts.jkt:
        answer["cnf"] = {"jkt": facts.jkt}  # RFC 9449 §6.2
    return answer


def token_alive(
    *,
    authorization: ConsentAuthorization,
    provider: Provider,
    at: datetime,
    consents: list[Consent] | None = None,
) -> bool:
    """True while the token's consent stands for its provider (see `token_liveness`)."""
    if provider.organisation_id != authorization.organisation_id:
        return False
    decision = token_liveness(
        authorization=authorization, provider=provider, at=at, consents=consents
    )
    if decision.reason in STANDING:
        return True
    log.warning(
        "token refused: consent %s is not in force (%s)",
        authorization.consent_lineage,
        decision.reason.value,
    )
    return False


def tokens_settle(*, lineage: UUID, decision: Decision) -> int:
    """After a decision on a token's consent: revoke its tokens if the consent has halted."""
    if decision.permit or decision.reason not in HALTED:
        return 0
    return tokens_revoke_for_consent(lineage=lineage, reason=decision.reason.value)


@transaction.atomic
def tokens_revoke_for_consent(*, lineage: UUID, reason: str) -> int:
    """Revoke every access and refresh token bound to the consent; return how many.
    Revoking a revoked token does nothing, so this is safe to run twice."""
    checksums = list(
        TokenBinding.objects.filter(authorization__consent_lineage=lineage).values_list(
            "token_checksum", flat=True
        )
    )
    done = _revoke(checksums)
    if done:
        log.info("revoked %d tokens of consent %s: %s", done, lineage, reason)
    return done


@transaction.atomic
def tokens_revoke_for_authorization(*, authorization: ConsentAuthorization, reason: str) -> int:
    """Revoke the tokens issued from one authorization (one code); return how many."""
    done = _revoke(list(authorization.tokens.values_list("token_checksum", flat=True)))
    log.warning("revoked %d tokens of authorization %s: %s", done, authorization.pk, reason)
    return done


def _revoke(checksums: list[str]) -> int:
    done = 0
    for access in AccessToken.objects.filter(token_checksum__in=checksums):
        access.revoke()
        done += 1
    for refresh in RefreshToken.objects.filter(token_checksum__in=checksums, revoked__isnull=True):
        refresh.revoke()
        done += 1
    return done


@transaction.atomic
def tokens_revoke_for_subject(*, subject_id: UUID, reason: str) -> int:
    """Revoke every token bound to a consent of this person (the consents' lineages, each by
    `tokens_revoke_for_consent`); return how many."""
    lineages = set(
        ConsentAuthorization.objects.filter(subject_id=subject_id).values_list(
            "consent_lineage", flat=True
        )
    )
    return sum(tokens_revoke_for_consent(lineage=lineage, reason=reason) for lineage in lineages)


@transaction.atomic
def tokens_revoke_for_client(*, application_id: int, reason: str) -> int:
    """Revoke every access and refresh token issued to this OAuth client; return how many."""
    done = 0
    for access in AccessToken.objects.filter(application_id=application_id):
        access.revoke()
        done += 1
    for refresh in RefreshToken.objects.filter(application_id=application_id, revoked__isnull=True):
        refresh.revoke()
        done += 1
    if done:
        log.info("revoked %d tokens of client %s: %s", done, application_id, reason)
    return done


def _halting_reason(entry: LogEntry) -> str | None:
    """The policy's reason, if this consent event left its consent halted."""
    consent = json.loads(entry.entry).get("consent") or {}
    reason = status_reason(str(consent.get("status", "")))
    return reason.value if reason in HALTED else None


def _follow(batch: int) -> tuple[int, int]:
    revoked = 0
    with transaction.atomic():
        LogCursor.objects.get_or_create(name=REVOCATION_CURSOR)
        cursor = LogCursor.objects.select_for_update().get(name=REVOCATION_CURSOR)
        # Integrated entries in leaf order: contiguous, so the cursor never skips one.
        entries = list(islice(iter_integrated(cursor.next_seq, batch=batch), batch))
        for entry in entries:
            if entry.consent_lineage is None or not entry.event_type.startswith("consent."):
                continue
            reason = _halting_reason(entry)
            if reason is not None:
                revoked += tokens_revoke_for_consent(lineage=entry.consent_lineage, reason=reason)
        if entries:
            cursor.next_seq += len(entries)
            cursor.save(update_fields=["next_seq"])
    return revoked, len(entries)


def tokens_revoke_follow(*, batch: int = 500) -> int:
    """Read the consent log after this handler's cursor, up to its end, and revoke the tokens
    of every consent an entry halted (withdrawn, paused, expired, terminated, revoked);
    return how many tokens were revoked. The cursor advances in the transaction of the
    revocations, so every entry is handled once, and handling one twice changes nothing."""
    total = 0
    while True:
        revoked, read = _follow(batch)
        total += revoked
        if read < batch:
            return total


# --- Codes and pushed requests not yet exchanged -------------------------------------------
# A code lives 60 s and a pushed request a few minutes: a staff change of what they depend on
# (a person's identity code, a provider's organisation id, a client's redirect URIs) ends
# them in its own transaction, as it ends the tokens, so none is exchanged afterwards.


def _pushed_consent_id(pushed: PushedAuthorizationRequest) -> str:
    """The consentId the pushed request's authorization_details name ("" if none), read by
    the one parser of those details."""
    try:
        return str(details_parse(pushed.parameters.get("authorization_details")).consent_id)
    except DetailsError:
        return ""


def _pushed_end(pushed: list[PushedAuthorizationRequest], at: datetime) -> int:
    """Close unanswered pushed requests: neither opened nor answered again."""
    return PushedAuthorizationRequest.objects.filter(
        reference_checksum__in=[p.reference_checksum for p in pushed], completed_at=None
    ).update(completed_at=at, expires_at=at)


def _pushed_open(at: datetime, **filters: Any) -> list[PushedAuthorizationRequest]:
    return list(
        PushedAuthorizationRequest.objects.filter(
            completed_at=None, created_at__gte=at - ANSWER_WINDOW, **filters
        )
    )


@transaction.atomic
def codes_end_for_subject(
    *, subject_id: UUID, user_id: int | None, at: datetime, reason: str
) -> int:
    """End the authorization codes not yet exchanged for a consent of this person (DOT's
    `Grant`s: a code whose grant is gone is invalid_grant at /o/token/), and the pushed
    requests not yet answered that name one of the person's consents or that the person's
    account opened; return how many."""
    checksums = ConsentAuthorization.objects.filter(subject_id=subject_id).values("code_checksum")
    codes, _ = get_grant_model().objects.filter(code__in=checksums).delete()
    lineages = {
        str(lineage)
        for lineage in Consent.objects.filter(subject_id=subject_id).values_list(
            "lineage", flat=True
        )
    }
    pushed = [
        p
        for p in _pushed_open(at)
        if _pushed_consent_id(p) in lineages or (user_id is not None and p.used_by == user_id)
    ]
    done = codes + _pushed_end(pushed, at)
    if done:
        log.info("ended %d codes and pushed requests of subject %s: %s", done, subject_id, reason)
    return done


@transaction.atomic
def codes_end_for_client(
    *,
    application_id: int,
    at: datetime,
    reason: str,
    redirect_uris: Collection[str] | None = None,
) -> int:
    """End this client's authorization codes not yet exchanged and its pushed requests not
    yet answered (only those for one of `redirect_uris`, if given); return how many."""
    grants = get_grant_model().objects.filter(application_id=application_id)
    client_id = (
        Application.objects.filter(pk=application_id).values_list("client_id", flat=True).first()
    )
    pushed = _pushed_open(at, client_id=client_id or "")
    if redirect_uris is not None:
        grants = grants.filter(redirect_uri__in=list(redirect_uris))
        pushed = [p for p in pushed if p.parameters.get("redirect_uri") in redirect_uris]
    codes, _ = grants.delete()
    done = codes + _pushed_end(pushed, at)
    if done:
        log.info(
            "ended %d codes and pushed requests of client %s: %s", done, application_id, reason
        )
    return done
