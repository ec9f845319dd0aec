"""The services of operator staff's logged changes (see the package docstring).

Keyword-only, one transaction each: the change, the end of the tokens that relied on the old
value, and the consent-log entry (the staff member, the reason, how many tokens ended).
Errors are the core's `ConsentError`s, naming the field that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, User
from django.db import IntegrityError, transaction

from consents.errors import ConsentError, conflict, invalid
from consents.events import EventType
from consents.locks import consent_lock_exclusive
from consents.log import log_append, person_ref
from mydata_operator.identity.models import Person, Provider, Regulator
from mydata_operator.identity.selectors import subject_pseudonym
from mydata_operator.provider_api.tokens import tokens_revoke_for_client, tokens_revoke_for_subject
from schemas.hetu import InvalidHetu, parse_hetu

#: Longest reason kept (it is written to the append-only log).
REASON_MAX = 500


@dataclass(frozen=True)
class StaffActor:
    """The staff member who makes a change, as the log entry names them."""

    user_id: int
    username: str

    @classmethod
    def of(cls, user: AbstractBaseUser) -> StaffActor:
        return cls(user_id=int(user.pk), username=user.get_username())

    def as_body(self) -> dict[str, Any]:
        return {"type": "operator", "id": str(self.user_id), "username": self.username}


def _reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise invalid("/reason", "Say why (the reason is written to the consent log).")
    if len(text) > REASON_MAX:
        raise invalid("/reason", f"The reason may be at most {REASON_MAX} characters.")
    return text


def _entry(event: EventType, *, actor: StaffActor, reason: str, **body: Any) -> None:
    log_append(event_type=event, body={**body, "actorDetail": actor.as_body(), "reason": reason})


def identity_code_change(*, person: Person, code: str, actor: StaffActor, reason: str) -> Person:
    """Give the person another identity code (a correction). Every provider token bound to
    one of their consents ends, since the data behind it is fetched by the code. The entry
    names the old and new codes only by the pseudonyms of their keyed hashes."""
    reason = _reason(reason)
    code = (code or "").strip().upper()
    try:
        parse_hetu(code)
    except InvalidHetu as exc:
        raise invalid("/personalIdentityCode", f"Not a valid identity code: {exc}.") from None
    with transaction.atomic():
        consent_lock_exclusive(person.id)  # after the data calls in flight, before the next
        locked = Person.objects.select_for_update().get(pk=person.pk)
        old = locked.personal_identity_code
        if old == code:
            raise invalid("/personalIdentityCode", "This already is the person's identity code.")
        if Person.objects.filter(personal_identity_code=code).exists():
            raise conflict(
                "Another person has this identity code; change theirs first "
                "(each change is logged and ends that person's tokens).",
                code="identity-code-taken",
                pointer="/personalIdentityCode",
            )
        locked.personal_identity_code = code
        locked.save(update_fields=["personal_identity_code"])
        ended = tokens_revoke_for_subject(subject_id=locked.id, reason="identity code changed")
        log_append(
            event_type=EventType.IDENTITY_CODE_CHANGED,
            subject_id=locked.id,
            body={
                "identityCode": {
                    "from": person_ref(subject_pseudonym(old)),
                    "to": person_ref(subject_pseudonym(code)),
                },
                "tokensEnded": ended,
                "actorDetail": actor.as_body(),
                "reason": reason,
            },
        )
    return locked


def provider_organisation_change(
    *, provider: Provider, organisation_id: str, actor: StaffActor, reason: str
) -> Provider:
    """Give the provider another organisation id (OID). Every token of its client ends: the
    consents a token was granted under name the old id."""
    reason = _reason(reason)
    organisation_id = (organisation_id or "").strip()
    if not organisation_id or len(organisation_id) > 128:
        raise invalid("/organisationId", "Give the organisation id (OID), at most 128 characters.")
    with transaction.atomic():
        locked = Provider.objects.select_for_update().get(pk=provider.pk)
        old = locked.organisation_id
        if old == organisation_id:
            raise invalid("/organisationId", "This already is the provider's organisation id.")
        if Provider.objects.filter(organisation_id=organisation_id).exists():
            raise conflict(
                "Another provider has this organisation id; change theirs first.",
                code="organisation-id-taken",
                pointer="/organisationId",
            )
        locked.organisation_id = organisation_id
        locked.save(update_fields=["organisation_id"])
        ended = (
            tokens_revoke_for_client(
                application_id=locked.application_id, reason="organisation id changed"
            )
            if locked.application_id is not None
            else 0
        )
        _entry(
            EventType.PROVIDER_ORGANISATION_CHANGED,
            actor=actor,
            reason=reason,
            provider={"id": locked.id, "name": locked.name, "from": old, "to": organisation_id},
            tokensEnded=ended,
        )
    return locked


def _organisation(organisation: str) -> str:
    text = (organisation or "").strip()
    if not text or len(text) > 200:
        raise invalid("/organisation", "Name the organisation, at most 200 characters.")
    return text


def _regulator_body(regulator: Regulator, **extra: Any) -> dict[str, Any]:
    return {
        "user": regulator.user_id,
        "username": regulator.user.get_username(),
        "organisation": regulator.organisation,
        **extra,
    }


def regulator_assign(*, user: User, organisation: str, actor: StaffActor, reason: str) -> Regulator:
    """Make the user a regulator (read access to the whole log) for the organisation."""
    reason = _reason(reason)
    organisation = _organisation(organisation)
    try:
        with transaction.atomic():
            regulator = Regulator.objects.create(user=user, organisation=organisation)
            _entry(
                EventType.REGULATOR_ASSIGNED,
                actor=actor,
                reason=reason,
                regulator=_regulator_body(regulator),
            )
    except IntegrityError:
        raise conflict(
            f"{user.get_username()} already is a regulator.", code="already-regulator"
        ) from None
    return regulator


def regulator_change(
    *, regulator: Regulator, organisation: str, actor: StaffActor, reason: str
) -> Regulator:
    """Change the organisation a regulator inspects for."""
    reason = _reason(reason)
    organisation = _organisation(organisation)
    with transaction.atomic():
        locked = Regulator.objects.select_for_update().select_related("user").get(pk=regulator.pk)
        old = locked.organisation
        if old == organisation:
            raise invalid("/organisation", "This already is the regulator's organisation.")
        locked.organisation = organisation
        locked.save(update_fields=["organisation"])
        _entry(
            EventType.REGULATOR_CHANGED,
            actor=actor,
            reason=reason,
            regulator=_regulator_body(locked, previousOrganisation=old),
        )
    return locked


def regulator_unassign(*, regulator: Regulator, actor: StaffActor, reason: str) -> None:
    """Take the regulator access away. It ends at the user's next request: every regulator
    page and API call looks the assignment up again."""
    reason = _reason(reason)
    with transaction.atomic():
        locked = Regulator.objects.select_for_update().select_related("user").get(pk=regulator.pk)
        body = _regulator_body(locked)
        locked.delete()
        _entry(EventType.REGULATOR_UNASSIGNED, actor=actor, reason=reason, regulator=body)


__all__ = [
    "ConsentError",
    "StaffActor",
    "identity_code_change",
    "provider_organisation_change",
    "regulator_assign",
    "regulator_change",
    "regulator_unassign",
]
