"""The provider API's services: a provider's consent request, its webhooks, and the data
path (`data_search`)."""

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken

import schemas
from connectors.base import ConnectorError
from connectors.kanta import connector as kanta
from connectors.models import Endpoint
from connectors.providers.destinations import UnsafeDestination, destination_check
from consents import services
from consents.errors import ConsentError, FieldError, conflict, invalid, not_permitted
from consents.kinds import KINDS, kind_spec
from consents.models import Consent
from consents.policy import Reason
from mydata_operator.api.parsers import datetime_field
from mydata_operator.identity.models import Person, Provider
from mydata_operator.identity.selectors import subject_id_for_code

from . import binding, tokens
from .models import PendingConsentRequest

log = logging.getLogger("tahto.provider_api")

DEFAULT_REQUEST_VALID_DAYS = 30


def scope_check_requester(*, kind: str, scope: dict[str, Any], provider: Provider) -> None:
    """A provider may ask only for consents that name itself as the recipient (its kind says
    where its scope names one)."""
    if kind in KINDS:  # an unknown kind is refused by the service, with the known ones named
        KINDS[kind].check_requester(scope, provider.organisation_id)


@transaction.atomic
def provider_consent_request(*, provider: Provider, body: Any) -> Consent | PendingConsentRequest:
    """A provider's request for a citizen's consent (POST /consent-requests); without a
    subject, a pending request that whoever authorizes it will answer."""
    schemas.validate("requests/consent-request.v1", body)
    scope_check_requester(kind=body["kind"], scope=body["scope"], provider=provider)
    period = body["period"]
    if "subject" not in body:
        return pending_request_create(provider=provider, body=body)
    # Known or not, the request is made the same way and answered the same, so a provider
    # cannot probe who uses Tahto; an unknown code creates no person record (its consent
    # waits under the pseudonymous id the person will have on joining).
    subject_id = subject_id_for_code(body["subject"]["personalIdentityCode"])
    return services.consent_request(
        subject_id=subject_id,
        requester=provider.organisation_id,
        kind=body["kind"],
        scope=body["scope"],
        valid_from=datetime_field(period.get("start"), "/period/start"),
        valid_until=datetime_field(period["end"], "/period/end"),
        request_valid_days=body.get("requestValidForDays", DEFAULT_REQUEST_VALID_DAYS),
    )


def pending_request_create(*, provider: Provider, body: dict[str, Any]) -> PendingConsentRequest:
    kind = body["kind"]
    if kind not in binding.TOKEN_KINDS:
        raise invalid(
            "/subject",
            f"A {kind} request names its citizen (subject.personalIdentityCode); only "
            "data-access kinds may leave the citizen to be known at authorization.",
        )
    try:
        schemas.validate(kind_spec(kind).schema, body["scope"], prefix="/scope")
    except schemas.SchemaValidationError as exc:
        errors = [FieldError(e["pointer"], e["message"], e.get("keyword", "")) for e in exc.errors]
        raise ConsentError(
            code="invalid-scope",
            message="The consent's scope is not valid.",
            errors=errors,
            status=422,
        ) from exc
    now = timezone.now()
    valid_from = datetime_field(body["period"].get("start"), "/period/start")
    valid_until = datetime_field(body["period"]["end"], "/period/end")
    assert valid_until is not None
    if valid_until <= max(now, valid_from or now):
        raise invalid("/period/end", "The period must end in the future and after it starts.")
    days = body.get("requestValidForDays", DEFAULT_REQUEST_VALID_DAYS)
    return PendingConsentRequest.objects.create(
        organisation_id=provider.organisation_id,
        kind=kind,
        scope=body["scope"],
        valid_from=valid_from,
        valid_until=valid_until,
        request_expires_at=now + timedelta(days=days),
        created_at=now,
    )


@transaction.atomic
def pending_request_answer(
    *, pending: PendingConsentRequest, person: Person, notice_text: str, language: str
) -> Consent:
    """The signed-in citizen approves a pending request: it becomes their consent, approved."""
    locked = PendingConsentRequest.objects.select_for_update().get(pk=pending.pk)
    now = timezone.now()
    if locked.consent_lineage is not None or locked.terminated_at is not None:
        raise conflict("This request has already been answered or ended.", code="request-answered")
    if locked.request_expires_at <= now:
        raise conflict(
            "The request has expired; ask the provider to send a new one.", code="request-expired"
        )
    days_left = max(1, (locked.request_expires_at - now).days)
    consent = services.consent_request(
        subject_id=person.id,
        requester=locked.organisation_id,
        kind=locked.kind,
        scope=locked.scope,
        valid_from=locked.valid_from,
        valid_until=locked.valid_until,
        request_valid_days=min(days_left, services.MAX_REQUEST_VALID_DAYS),
        now=now,
    )
    consent = services.consent_approve(
        consent=consent,
        actor=services.Actor.person(person.id),
        notice_text=notice_text,
        language=language,
        now=now,
    )
    locked.consent_lineage = consent.lineage
    locked.save(update_fields=["consent_lineage"])
    return consent


def pending_request_terminate(*, pending: PendingConsentRequest) -> None:
    if pending.terminated_at is not None:
        raise conflict("The request has already been ended.", code="transition-forbidden")
    pending.terminated_at = timezone.now()
    pending.save(update_fields=["terminated_at"])


def webhook_register(*, provider: Provider, url: str) -> Endpoint:
    """Register a webhook: https to public addresses only, checked after resolving the name
    (and again at every delivery)."""
    try:
        destination_check(url)
    except UnsafeDestination as exc:
        message = f"The webhook URL is refused: {exc}."
        raise invalid("/url", message, "webhook-url-refused") from None
    endpoint, _ = Endpoint.objects.update_or_create(
        organisation_id=provider.organisation_id,
        kind=Endpoint.Kind.WEBHOOK,
        url=url,
        defaults={"active": True},
    )
    return endpoint


def webhook_delete(*, provider: Provider, endpoint: Endpoint) -> None:
    if endpoint.organisation_id != provider.organisation_id:
        raise not_permitted("Not your webhook.")
    endpoint.delete()


# --- The data path --------------------------------------------------------------------------


class DataRefused(Exception):
    """A data call is refused; the API renders it as problem+json (`extra` adds members)."""

    def __init__(self, status: int, code: str, title: str, detail: str, **extra: str):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra


def data_search(
    *, token: AccessToken, resource_type: str, consent_id: str | None = None
) -> dict[str, Any]:
    """The citizen's data of one FHIR resource type, as the token's consent permits: a
    searchset Bundle, or `DataRefused`.

    The token is alive while its consent stands: the logged decision is the liveness check
    (`decide_and_log` with the token's consent lineage and what the token was granted, so
    a type the consent covers but the token was not granted is a logged deny too), and a
    consent that has halted has its tokens revoked (`tokens.tokens_settle`). The decision,
    the search in Kanta and the `flow.delivered` entry are one transaction holding the
    consent's share lock, so a withdrawal waits for calls in flight and calls after it see
    it. `consent_id` is the Consent-ID header, which must name the token's consent.
    """
    authorization, provider = binding.token_context(token)
    if authorization is None or provider is None:
        raise DataRefused(
            403, "token-not-bound", "Not permitted.", "The token is not bound to a consent."
        )
    if provider.organisation_id != authorization.organisation_id:
        raise DataRefused(403, "wrong-provider", "Not permitted.", "The token is not yours.")
    lineage = authorization.consent_lineage
    if consent_id is not None and consent_id.strip() != str(lineage):
        raise DataRefused(
            403,
            "consent-id-mismatch",
            "Not permitted.",
            "The Consent-ID header does not name the consent this token is bound to.",
        )
    categories, actions = binding.granted(authorization)
    failure: ConnectorError | None = None
    with transaction.atomic():
        try:
            result = kanta.provider_query(
                subject_id=authorization.subject_id,
                recipient=binding.recipient_for(provider),
                consent_lineage=lineage,
                resource_types=[resource_type],
                requested_by=provider.organisation_id,
                granted_categories=categories,
                granted_actions=actions,
            )
        except ConnectorError as exc:  # caught inside: the decision and flow.failed commit
            failure = exc
    if failure is not None:
        log.error("Kanta query for consent %s failed: %s", lineage, failure)
        raise DataRefused(
            502,
            "upstream-unavailable",
            "The national archive did not answer.",
            "Kanta could not be queried just now; nothing was delivered. Try again later.",
        )
    decision = result.decision
    if not decision.permit:
        tokens.tokens_settle(lineage=lineage, decision=decision)
        raise DataRefused(
            403,
            decision.reason.value,
            "The token does not permit this."
            if decision.reason == Reason.NOT_GRANTED
            else "The consent does not permit this.",
            f"{decision.explanation} (asked: {resource_type})"
            if decision.reason == Reason.NOT_GRANTED
            else decision.explanation,
            reason=decision.reason.value,
            consentId=str(lineage),
        )
    assert result.bundle is not None
    return result.bundle
