"""The provider API's own state changes: a provider's consent request, its webhooks."""

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

import schemas
from connectors.models import Endpoint
from consents import services
from consents.errors import ConsentError, FieldError, conflict, invalid, not_permitted
from consents.kinds import KINDS, kind_spec
from consents.models import Consent
from mydata_operator.api.parsers import datetime_field
from mydata_operator.identity.models import Person, Provider
from schemas.hetu import parse_hetu

from . import binding
from .models import PendingConsentRequest

DEFAULT_REQUEST_VALID_DAYS = 30


def scope_check_requester(*, kind: str, scope: dict[str, Any], provider: Provider) -> None:
    """A provider may ask only for consents that name itself as the recipient (its kind says
    where its scope names one)."""
    if kind in KINDS:  # an unknown kind is refused by the service, with the known ones named
        KINDS[kind].check_requester(scope, provider.organisation_id)


def subject_for_code(code: str) -> Person:
    """The person with this identity code; a placeholder (no account) if not yet known.

    Creating the placeholder keeps the answer the same whether or not the person uses Tahto,
    so a provider cannot probe who is registered.
    """
    person = Person.objects.filter(personal_identity_code=code).first()
    if person is not None:
        return person
    person, _ = Person.objects.get_or_create(
        personal_identity_code=code,
        defaults={"given_name": "", "family_name": "", "birth_date": parse_hetu(code).birth_date},
    )
    return person


@transaction.atomic
def provider_consent_request(*, provider: Provider, body: Any) -> Consent | PendingConsentRequest:
    """A provider's request for a citizen's consent (POST /consent-requests); without a
    subject, a pending request that whoever authorizes it will answer."""
    schemas.validate("requests/consent-request.v1", body)
    scope_check_requester(kind=body["kind"], scope=body["scope"], provider=provider)
    period = body["period"]
    if "subject" not in body:
        return pending_request_create(provider=provider, body=body)
    subject = subject_for_code(body["subject"]["personalIdentityCode"])
    return services.consent_request(
        subject_id=subject.id,
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
    if not url.startswith(("https://", "http://")):
        raise invalid("/url", "The webhook URL must be an absolute http(s) URL.")
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
