"""Services that change consents and mandates. Keyword-only, one transaction each.

Every service writes its log entry (and, for a citizen's own act, a signed receipt) in the
same transaction as the change, so a change is never without its record, nor the reverse.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

import schemas

from . import receipts, representation
from .errors import ConsentError, FieldError, conflict, invalid, not_permitted
from .events import EventType
from .kinds import KINDS, kind_codes
from .locks import consent_lock_exclusive
from .log import log_append
from .models import Consent, LogEntry, Mandate, Notice, Receipt
from .states import Provision, Status, TransitionError, check_transition

MAX_REQUEST_VALID_DAYS = 90


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (themself or on behalf of another), a provider, or the operator."""

    type: str  # "person" | "provider" | "operator" | "system"
    id: str

    @classmethod
    def person(cls, person_id: UUID) -> "Actor":
        return cls("person", str(person_id))

    @classmethod
    def provider(cls, organisation: str) -> "Actor":
        return cls("provider", organisation)

    @classmethod
    def system(cls, name: str = "tahto") -> "Actor":
        return cls("system", name)

    @property
    def person_id(self) -> UUID | None:
        return UUID(self.id) if self.type == "person" else None


# --- Helpers ---------------------------------------------------------------------------------


def _schema_errors(exc: schemas.SchemaValidationError, code: str = "invalid-scope") -> ConsentError:
    errors = [FieldError(e["pointer"], e["message"], e.get("keyword", "")) for e in exc.errors]
    return ConsentError(
        code=code, message="The consent's scope is not valid.", errors=errors, status=422
    )


def _validate_scope(kind: str, scope: Any) -> str:
    if kind not in KINDS:
        raise invalid("/kind", f"Unknown consent kind {kind!r}; expected one of {kind_codes()}.")
    name = KINDS[kind].schema
    try:
        schemas.validate(name, scope, prefix="/scope")
    except schemas.SchemaValidationError as exc:
        raise _schema_errors(exc) from exc
    return name


def _validate_period(valid_from: datetime, valid_until: datetime | None, now: datetime) -> None:
    if valid_until is None:
        return
    if valid_until <= valid_from:
        raise invalid(
            "/period/end", "The period must end after it starts (end is not after start)."
        )
    if valid_until <= now:
        raise invalid("/period/end", "The period has already ended (end is in the past).")


def notice_record(*, text: str, language: str) -> Notice:
    """Store the exact notice text once; consents refer to it by its SHA-256."""
    if not text or not text.strip():
        raise invalid("/notice/text", "The notice text shown to the person is required.")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    notice, _ = Notice.objects.get_or_create(
        sha256=digest, defaults={"text": text, "language": language}
    )
    return notice


def acting_role(*, actor: Actor, subject_id: UUID, kind: str, at: datetime) -> str:
    """'self', 'guardian' or 'mandate'; raise if the person may not act for the subject."""
    if actor.type != "person":
        raise not_permitted("Only the person or their representative can do this.")
    person = actor.person_id
    if person == subject_id:
        return "self"
    assert person is not None
    mandate = representation.mandate_for(agent_id=person, principal_id=subject_id, kind=kind, at=at)
    if mandate is None:
        raise not_permitted(
            "You may not act on behalf of this person for this kind of consent "
            "(no valid guardianship or mandate).",
            code="no-mandate",
        )
    return mandate.basis


def _consent_body(consent: Consent, **extra: Any) -> dict[str, Any]:
    return {
        "consent": {
            "id": consent.id,
            "lineage": consent.lineage,
            "version": consent.version,
            "kind": consent.kind,
            "provision": consent.provision,
            "status": consent.status,
            "schema": consent.schema,
            "scope": consent.scope,
            "validFrom": consent.valid_from,
            "validUntil": consent.valid_until,
            "requestedBy": consent.requested_by or None,
        },
        "noticeSha256": consent.notice_id,
        **extra,
    }


def _recipient_of(consent: Consent) -> str:
    scope = consent.scope if isinstance(consent.scope, dict) else {}
    party = KINDS[consent.kind].recipient(scope)
    if party is not None:
        return str(party.get("organisation") or party.get("providerKind") or "")
    return consent.requested_by


def _record(
    consent: Consent,
    event: EventType,
    *,
    actor: Actor,
    at: datetime,
    reason: str = "",
    from_status: str | None = None,
    role: str | None = None,
) -> LogEntry:
    actor_body: dict[str, Any] = {"type": actor.type, "id": actor.id}
    if role:
        actor_body["role"] = role
    entry = log_append(
        event_type=event,
        occurred_at=at,
        subject_id=consent.subject_id,
        actor_id=actor.person_id,
        consent_id=consent.id,
        consent_lineage=consent.lineage,
        kind=consent.kind,
        recipient=_recipient_of(consent),
        body=_consent_body(
            consent,
            actorDetail=actor_body,
            fromStatus=from_status,
            reason=reason or None,
        ),
    )
    if role is not None:  # a person's own act (or their representative's): give a receipt
        receipt_id = uuid.uuid4()
        payload = receipts.receipt_payload(
            consent=consent,
            event_type=str(event),
            actor_id=UUID(actor.id),
            actor_role=role,
            log_entry_id=entry.id,
            leaf_hash=bytes(entry.leaf_hash),
            issued_at=at,
            receipt_id=receipt_id,
            # In the language of the notice the person read (receipts speak fi, sv or en).
            language=consent.notice.language if consent.notice else "fi",
        )
        Receipt.objects.create(
            id=receipt_id,
            consent=consent,
            log_entry=entry,
            event_type=str(event),
            issued_at=at,
            jws=receipts.receipt_sign(payload),
        )
    return entry


def _lock(consent: Consent | UUID, *, ordered: bool = True) -> Consent:
    """Lock the consent for a change of state: first its subject's consent lock (so the
    change is ordered with the decisions on that subject, see `consents.locks`), then its
    row. `ordered=False` for answering a request (it ends nothing a decision relied on)."""
    pk = consent if isinstance(consent, UUID) else consent.pk
    if not ordered:
        return Consent.objects.select_for_update().get(pk=pk)
    subject_id = (
        consent.subject_id
        if isinstance(consent, Consent)
        else Consent.objects.values_list("subject_id", flat=True).get(pk=pk)
    )
    consent_lock_exclusive(subject_id)
    return Consent.objects.select_for_update().get(pk=pk)


def _transition(
    consent: Consent,
    target: Status,
    event: EventType,
    *,
    actor: Actor,
    at: datetime,
    reason: str = "",
    role: str | None = None,
) -> Consent:
    current = consent.status
    try:
        check_transition(current, target)
    except TransitionError as exc:
        raise conflict(str(exc), code="transition-forbidden") from exc
    consent.status = target
    consent.updated_at = at
    consent.save(update_fields=["status", "updated_at"])
    _record(consent, event, actor=actor, at=at, reason=reason, from_status=current, role=role)
    return consent


# --- Granting and requesting ---------------------------------------------------------------


@transaction.atomic
def consent_grant(
    *,
    subject_id: UUID,
    actor: Actor,
    kind: str,
    scope: dict[str, Any],
    notice_text: str,
    language: str = "fi",
    provision: str = Provision.PERMIT,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    now: datetime | None = None,
) -> Consent:
    """The citizen (or their representative) gives a consent, or a refusal, in force at once."""
    now = now or timezone.now()
    schema = _validate_scope(kind, scope)
    if provision not in Provision.values:
        raise invalid("/provision", f"provision must be one of {Provision.values}.")
    valid_from = valid_from or now
    _validate_period(valid_from, valid_until, now)
    role = acting_role(actor=actor, subject_id=subject_id, kind=kind, at=now)
    notice = notice_record(text=notice_text, language=language)
    consent_id = uuid.uuid4()
    consent = Consent.objects.create(
        id=consent_id,
        lineage=consent_id,
        kind=kind,
        schema=schema,
        subject_id=subject_id,
        provision=provision,
        scope=scope,
        status=Status.ACTIVE,
        valid_from=valid_from,
        valid_until=valid_until,
        notice=notice,
        granted_by=actor.person_id,
        created_at=now,
        updated_at=now,
    )
    _record(consent, EventType.CONSENT_GRANTED, actor=actor, at=now, role=role)
    return consent


@transaction.atomic
def consent_request(
    *,
    subject_id: UUID,
    requester: str,
    kind: str,
    scope: dict[str, Any],
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    request_valid_days: int = 14,
    now: datetime | None = None,
) -> Consent:
    """A provider asks the citizen for a consent; it waits for approval in the dashboard."""
    now = now or timezone.now()
    schema = _validate_scope(kind, scope)
    valid_from = valid_from or now
    _validate_period(valid_from, valid_until, now)
    if not 1 <= request_valid_days <= MAX_REQUEST_VALID_DAYS:
        raise invalid(
            "/requestValidForDays",
            f"requestValidForDays must be between 1 and {MAX_REQUEST_VALID_DAYS}.",
        )
    consent_id = uuid.uuid4()
    consent = Consent.objects.create(
        id=consent_id,
        lineage=consent_id,
        kind=kind,
        schema=schema,
        subject_id=subject_id,
        scope=scope,
        status=Status.REQUESTED,
        valid_from=valid_from,
        valid_until=valid_until,
        requested_by=requester,
        request_expires_at=now + timedelta(days=request_valid_days),
        created_at=now,
        updated_at=now,
    )
    _record(consent, EventType.CONSENT_REQUESTED, actor=Actor.provider(requester), at=now)
    return consent


@transaction.atomic
def consent_approve(
    *,
    consent: Consent,
    actor: Actor,
    notice_text: str,
    language: str = "fi",
    now: datetime | None = None,
) -> Consent:
    """The citizen approves a provider's request, having been shown `notice_text`."""
    now = now or timezone.now()
    consent = _lock(consent, ordered=False)
    role = acting_role(actor=actor, subject_id=consent.subject_id, kind=consent.kind, at=now)
    if consent.request_expires_at and consent.request_expires_at <= now:
        raise conflict(
            "The request has expired; ask the provider to send a new one.", code="request-expired"
        )
    try:
        check_transition(consent.status, Status.ACTIVE)
    except TransitionError as exc:
        raise conflict(str(exc), code="transition-forbidden") from exc
    consent.notice = notice_record(text=notice_text, language=language)
    consent.granted_by = actor.person_id
    if consent.valid_from < now:
        consent.valid_from = now
    if consent.valid_until is not None and consent.valid_until <= consent.valid_from:
        raise conflict(
            "The requested period has already ended.", code="period-ended", pointer="/period/end"
        )
    consent.save(update_fields=["notice", "granted_by", "valid_from"])
    return _transition(
        consent, Status.ACTIVE, EventType.CONSENT_APPROVED, actor=actor, at=now, role=role
    )


@transaction.atomic
def consent_reject(
    *, consent: Consent, actor: Actor, reason: str = "", now: datetime | None = None
) -> Consent:
    now = now or timezone.now()
    consent = _lock(consent, ordered=False)
    role = acting_role(actor=actor, subject_id=consent.subject_id, kind=consent.kind, at=now)
    return _transition(
        consent,
        Status.REJECTED,
        EventType.CONSENT_REJECTED,
        actor=actor,
        at=now,
        reason=reason,
        role=role,
    )


# --- Changing -------------------------------------------------------------------------------


@transaction.atomic
def consent_change(
    *,
    consent: Consent,
    actor: Actor,
    scope: dict[str, Any],
    notice_text: str,
    language: str = "fi",
    valid_until: datetime | None = None,
    now: datetime | None = None,
) -> Consent:
    """Replace an active or paused consent by a new version; the old one is superseded."""
    now = now or timezone.now()
    old = _lock(consent)
    role = acting_role(actor=actor, subject_id=old.subject_id, kind=old.kind, at=now)
    schema = _validate_scope(old.kind, scope)
    _validate_period(now, valid_until, now)
    notice = notice_record(text=notice_text, language=language)
    _transition(old, Status.SUPERSEDED, EventType.CONSENT_SUPERSEDED, actor=actor, at=now)
    new_id = uuid.uuid4()
    new = Consent.objects.create(
        id=new_id,
        lineage=old.lineage,
        version=old.version + 1,
        supersedes=old,
        kind=old.kind,
        schema=schema,
        subject_id=old.subject_id,
        provision=old.provision,
        scope=scope,
        status=Status.ACTIVE,
        valid_from=now,
        valid_until=valid_until,
        requested_by=old.requested_by,
        notice=notice,
        granted_by=actor.person_id,
        created_at=now,
        updated_at=now,
    )
    _record(new, EventType.CONSENT_CHANGED, actor=actor, at=now, role=role)
    return new


def _citizen_transition(target: Status, event: EventType) -> Any:
    @transaction.atomic
    def service(
        *, consent: Consent, actor: Actor, reason: str = "", now: datetime | None = None
    ) -> Consent:
        now = now or timezone.now()
        locked = _lock(consent)
        role = acting_role(actor=actor, subject_id=locked.subject_id, kind=locked.kind, at=now)
        return _transition(locked, target, event, actor=actor, at=now, reason=reason, role=role)

    return service


consent_pause = _citizen_transition(Status.PAUSED, EventType.CONSENT_PAUSED)
consent_pause.__doc__ = "The citizen pauses a consent: it denies every flow until resumed."
consent_resume = _citizen_transition(Status.ACTIVE, EventType.CONSENT_RESUMED)
consent_resume.__doc__ = "The citizen resumes a paused consent."
consent_withdraw = _citizen_transition(Status.WITHDRAWN, EventType.CONSENT_WITHDRAWN)
consent_withdraw.__doc__ = "The citizen withdraws a consent; it is final and denies at once."


@transaction.atomic
def consent_revoke(
    *, consent: Consent, actor: Actor, reason: str, now: datetime | None = None
) -> Consent:
    """Someone other than the citizen ends the consent (e.g. the operator, on a legal basis)."""
    now = now or timezone.now()
    if not reason.strip():
        raise invalid("/reason", "A revocation needs a reason the citizen can read.")
    locked = _lock(consent)
    return _transition(
        locked, Status.REVOKED, EventType.CONSENT_REVOKED, actor=actor, at=now, reason=reason
    )


@transaction.atomic
def consent_terminate(
    *, consent: Consent, requester: str, reason: str = "", now: datetime | None = None
) -> Consent:
    """The provider that asked for the consent ends it (NextGenPSD2 terminatedByTpp)."""
    now = now or timezone.now()
    locked = _lock(consent)
    if locked.requested_by != requester:
        raise not_permitted("Only the provider that requested this consent can terminate it.")
    return _transition(
        locked,
        Status.TERMINATED,
        EventType.CONSENT_TERMINATED,
        actor=Actor.provider(requester),
        at=now,
        reason=reason,
    )


def consents_expire(*, now: datetime | None = None, batch: int = 500) -> int:
    """Mark consents whose period ended, and requests nobody answered, as expired."""
    now = now or timezone.now()
    done = 0
    while True:
        ids = list(
            Consent.objects.filter(
                status__in=[Status.ACTIVE, Status.PAUSED], valid_until__lte=now
            ).values_list("id", flat=True)[:batch]
        ) + list(
            Consent.objects.filter(
                status=Status.REQUESTED, request_expires_at__lte=now
            ).values_list("id", flat=True)[:batch]
        )
        if not ids:
            return done
        for consent_id in ids:
            with transaction.atomic():
                locked = _lock(consent_id)
                if locked.status not in (Status.ACTIVE, Status.PAUSED, Status.REQUESTED):
                    continue  # someone else changed it meanwhile
                _transition(
                    locked,
                    Status.EXPIRED,
                    EventType.CONSENT_EXPIRED,
                    actor=Actor.system(),
                    at=now,
                    reason="period ended",
                )
                done += 1


# --- Mandates -------------------------------------------------------------------------------


@transaction.atomic
def mandate_create(
    *,
    principal_id: UUID,
    agent_id: UUID,
    basis: str,
    kinds: list[str] | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    actor: Actor,
    now: datetime | None = None,
) -> Mandate:
    """Record that agent may act for principal (a guardian, or a mandate the principal gave)."""
    now = now or timezone.now()
    valid_from = valid_from or now
    if principal_id == agent_id:
        raise invalid("/agent", "A person cannot hold a mandate for themself.")
    if basis not in Mandate.Basis.values:
        raise invalid("/basis", f"basis must be one of {Mandate.Basis.values}.")
    unknown = [k for k in kinds or [] if k not in KINDS]
    if unknown:
        raise invalid("/kinds", f"Unknown consent kinds: {unknown}.")
    _validate_period(valid_from, valid_until, now)
    mandate = Mandate.objects.create(
        principal_id=principal_id,
        agent_id=agent_id,
        basis=basis,
        kinds=sorted(kinds or []),
        valid_from=valid_from,
        valid_until=valid_until,
        created_at=now,
    )
    log_append(
        event_type=EventType.MANDATE_CREATED,
        occurred_at=now,
        subject_id=principal_id,
        actor_id=actor.person_id,
        body={
            "mandate": {
                "id": mandate.id,
                "agent": agent_id,
                "basis": basis,
                "kinds": mandate.kinds,
                "validFrom": valid_from,
                "validUntil": valid_until,
            },
            "actorDetail": {"type": actor.type, "id": actor.id},
        },
    )
    return mandate


@transaction.atomic
def mandate_end(
    *, mandate: Mandate, actor: Actor, reason: str, now: datetime | None = None
) -> Mandate:
    """End a mandate at once. The consents it was used for stay; the access ends."""
    now = now or timezone.now()
    locked = Mandate.objects.select_for_update().get(pk=mandate.pk)
    if locked.ended_at is not None:
        raise conflict("The mandate has already ended.", code="mandate-ended")
    locked.ended_at = now
    locked.end_reason = reason[:200]
    locked.save(update_fields=["ended_at", "end_reason"])
    log_append(
        event_type=EventType.MANDATE_ENDED,
        occurred_at=now,
        subject_id=locked.principal_id,
        actor_id=actor.person_id,
        body={
            "mandate": {"id": locked.id, "agent": locked.agent_id, "basis": locked.basis},
            "reason": reason,
            "actorDetail": {"type": actor.type, "id": actor.id},
        },
    )
    return locked
