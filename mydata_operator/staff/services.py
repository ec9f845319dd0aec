"""The services of operator staff's logged changes (see the package docstring).

Keyword-only, one transaction each: the change, the end of the tokens that relied on the old
value, and the consent-log entry (the staff member, the reason, how many tokens ended).
Errors are the core's `ConsentError`s, naming the field that is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.models import Application
from oauth2_provider.validators import AllowedURIValidator

from consents.errors import ConsentError, conflict, invalid
from consents.events import EventType
from consents.locks import consent_lock_exclusive
from consents.log import log_append, person_ref
from mydata_operator.identity.models import Person, Provider, Regulator
from mydata_operator.identity.selectors import subject_pseudonym
from mydata_operator.provider_api.fapi import redirect_uri_registered
from mydata_operator.provider_api.models import ClientKey, ClientProfile
from mydata_operator.provider_api.tokens import (
    codes_end_for_client,
    codes_end_for_subject,
    tokens_revoke_for_client,
    tokens_revoke_for_subject,
)
from mydata_operator.security.citizen_apps import (
    app_authorizations_revoke_for_client,
    app_authorizations_revoke_for_user,
    redirect_uri_problem,
)
from mydata_operator.security.sessions import sessions_end_for_user
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
        # A code issued, or a request pushed, just before the change is not exchanged after it.
        codes = codes_end_for_subject(
            subject_id=locked.id,
            user_id=locked.user_id,
            at=timezone.now(),
            reason="identity code changed",
        )
        log_append(
            event_type=EventType.IDENTITY_CODE_CHANGED,
            subject_id=locked.id,
            body={
                "identityCode": {
                    "from": person_ref(subject_pseudonym(old)),
                    "to": person_ref(subject_pseudonym(code)),
                },
                "tokensEnded": ended,
                "codesEnded": codes,
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
        ended = codes = 0
        if locked.application_id is not None:
            ended = tokens_revoke_for_client(
                application_id=locked.application_id, reason="organisation id changed"
            )
            codes = codes_end_for_client(
                application_id=locked.application_id,
                at=timezone.now(),
                reason="organisation id changed",
            )
        _entry(
            EventType.PROVIDER_ORGANISATION_CHANGED,
            actor=actor,
            reason=reason,
            provider={"id": locked.id, "name": locked.name, "from": old, "to": organisation_id},
            tokensEnded=ended,
            codesEnded=codes,
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


# --- OAuth clients: redirect URIs and signing keys -----------------------------------------


def _client_body(application: Application) -> dict[str, Any]:
    return {"id": application.pk, "clientId": application.client_id, "name": application.name}


def _redirect_uris(uris: Sequence[str], *, citizen_app: bool) -> list[str]:
    """The URIs as given, once each, in order; each one a URI DOT would accept (a provider's),
    or one of the forms a citizen app may register (RFC 8252: its own scheme, loopback)."""
    validator = AllowedURIValidator(
        schemes=["https", "http"], name="redirect uri", allow_path=True, allow_query=True
    )
    kept: list[str] = []
    for uri in (u.strip() for u in uris):
        if not uri or uri in kept:
            continue
        if citizen_app:
            if problem := redirect_uri_problem(uri):
                raise invalid("/redirectUris", f"{uri}: {problem}")
            kept.append(uri)
            continue
        try:
            validator(uri)
        except ValidationError as exc:
            raise invalid("/redirectUris", f"{uri}: {' '.join(exc.messages)}") from None
        kept.append(uri)
    if not kept:
        raise invalid("/redirectUris", "Give at least one redirect URI.")
    return kept


def client_redirect_uris_change(
    *, application: Application, redirect_uris: Sequence[str], actor: StaffActor, reason: str
) -> Application:
    """Give the client other redirect URIs: a provider's exact https (http on loopback for a
    demo client); a citizen app's also its own scheme or loopback (RFC 8252, `citizen_apps`).
    For every URI taken away, whatever may have been sent to it ends: the codes and pushed
    requests for it, the citizen-app authorizations whose code went there, and, for a provider
    client, all its tokens (a token does not record which URI its code went to)."""
    reason = _reason(reason)
    citizen_app = ClientProfile.objects.filter(
        application_id=application.pk, kind=ClientProfile.Kind.CITIZEN_APP
    ).exists()
    uris = _redirect_uris(redirect_uris, citizen_app=citizen_app)
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        old = locked.redirect_uris.split()
        if old == uris:
            raise invalid("/redirectUris", "These already are the client's redirect URIs.")
        locked.redirect_uris = " ".join(uris)
        locked.save(update_fields=["redirect_uris"])
        for uri in uris if not citizen_app else ():  # an app's were checked above
            if not redirect_uri_registered(locked, uri):
                raise invalid(
                    "/redirectUris", f"{uri}: use https (http only on loopback, for a demo client)"
                )
        removed = set(old) - set(uris)
        codes = tokens = apps = 0
        if removed:
            at, why = timezone.now(), "redirect URI taken away"
            codes = codes_end_for_client(
                application_id=locked.pk, at=at, reason=why, redirect_uris=removed
            )
            tokens = tokens_revoke_for_client(application_id=locked.pk, reason=why)
            apps = app_authorizations_revoke_for_client(
                application_id=locked.pk, at=at, redirect_uris=removed
            )
        _entry(
            EventType.CLIENT_REDIRECT_URIS_CHANGED,
            actor=actor,
            reason=reason,
            client={**_client_body(locked), "redirectUris": {"from": old, "to": uris}},
            codesEnded=codes,
            tokensEnded=tokens,
            appAuthorizationsEnded=apps,
        )
    return locked


def client_key_retire(*, key: ClientKey, actor: StaffActor, reason: str) -> ClientKey:
    """Retire a client's signing key: no client assertion or CDS Hooks JWT signed with it
    verifies from now on. No token ends (each is bound to the client's DPoP key, not to this
    one). A citizen app keeps at least one key: without one it would be taken for a public
    client (PKCE and DPoP only), so register the new key first."""
    reason = _reason(reason)
    with transaction.atomic():
        locked = ClientKey.objects.select_for_update().select_related("application").get(pk=key.pk)
        if locked.retired_at is not None:
            raise invalid("/kid", "This key is retired already.")
        in_force = ClientKey.objects.filter(application=locked.application, retired_at=None)
        citizen_app = ClientProfile.objects.filter(
            application=locked.application, kind=ClientProfile.Kind.CITIZEN_APP
        ).exists()
        if citizen_app and in_force.count() == 1:
            raise conflict(
                "This is the app's last key: without a key the app would be taken for a public "
                "client. Register its new key first (manage.py register_client_key).",
                code="last-client-key",
                pointer="/kid",
            )
        locked.retired_at = timezone.now()
        locked.save(update_fields=["retired_at"])
        _entry(
            EventType.CLIENT_KEY_RETIRED,
            actor=actor,
            reason=reason,
            client={**_client_body(locked.application), "kid": locked.kid},
        )
    return locked


# --- Users: staff rights, password, e-mail, on or off --------------------------------------


def _user_body(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "username": user.get_username()}


def _not_self(user: Any, actor: StaffActor) -> None:
    if user.pk == actor.user_id:
        raise conflict(
            "Another staff member must make this change to your own account.",
            code="own-account",
        )


def user_rights_change(
    *, user: User, is_staff: bool, is_superuser: bool, actor: StaffActor, reason: str
) -> User:
    """Give or take a user's staff rights (the admin) and superuser rights (everything in it).
    Never one's own."""
    reason = _reason(reason)
    _not_self(user, actor)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        old = {"isStaff": locked.is_staff, "isSuperuser": locked.is_superuser}
        new = {"isStaff": bool(is_staff), "isSuperuser": bool(is_superuser)}
        if old == new:
            raise invalid("/isStaff", "The user already has these rights.")
        locked.is_staff, locked.is_superuser = new["isStaff"], new["isSuperuser"]
        locked.save(update_fields=["is_staff", "is_superuser"])
        _entry(
            EventType.USER_RIGHTS_CHANGED,
            actor=actor,
            reason=reason,
            user={**_user_body(locked), "from": old, "to": new},
        )
    return locked


def user_password_set(*, user: User, password: str, actor: StaffActor, reason: str) -> User:
    """Set another user's password (Django's password rules apply). The user's other sessions
    end at their next request (the session's password hash no longer matches)."""
    reason = _reason(reason)
    _not_self(user, actor)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise invalid("/password", " ".join(exc.messages)) from None
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.set_password(password)
        locked.save(update_fields=["password"])
        _entry(EventType.USER_PASSWORD_SET, actor=actor, reason=reason, user=_user_body(locked))
    return locked


def user_email_change(*, user: User, email: str, actor: StaffActor, reason: str) -> User:
    """Change the e-mail address a user's password resets are sent to. The addresses are not
    written to the append-only log (personal data); the entry says who, whose and why."""
    reason = _reason(reason)
    _not_self(user, actor)
    email = (email or "").strip()
    try:
        EmailValidator()(email)
    except ValidationError:
        raise invalid("/email", "Give a valid e-mail address.") from None
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.email == email:
            raise invalid("/email", "This already is the user's e-mail address.")
        locked.email = email
        locked.save(update_fields=["email"])
        _entry(EventType.USER_EMAIL_CHANGED, actor=actor, reason=reason, user=_user_body(locked))
    return locked


def user_active_set(*, user: User, active: bool, actor: StaffActor, reason: str) -> User:
    """Turn a user's account off or on again. Off signs the user out of every session and
    ends what the account holds: its citizen apps' authorizations (their codes and tokens)
    and, for a citizen, the codes not yet exchanged for their consents and the pushed
    requests they opened (as an identity code change ends them). Provider tokens are not the
    account's: they stand or fall with the consents. On again brings nothing back: the user
    signs in anew and each app asks again. Never one's own account."""
    reason = _reason(reason)
    _not_self(user, actor)
    active = bool(active)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active == active:
            raise invalid(
                "/isActive",
                "The account already is on." if active else "The account already is off.",
            )
        locked.is_active = active
        locked.save(update_fields=["is_active"])
        at = timezone.now()
        # Nobody signs in or authorizes an app as an account that is off, so whatever session
        # or app authorization exists when it is turned on again dates from before (a sign-in
        # racing the turning off): it is ended then too, and the account starts afresh.
        sessions = sessions_end_for_user(user_id=locked.pk)
        apps = app_authorizations_revoke_for_user(user_id=locked.pk, at=at)
        ended = {"sessionsEnded": sessions, "appAuthorizationsEnded": apps}
        if active:
            _entry(
                EventType.USER_REACTIVATED,
                actor=actor,
                reason=reason,
                user=_user_body(locked),
                **ended,
            )
            return locked
        person = Person.objects.filter(user_id=locked.pk).values_list("id", flat=True).first()
        codes = (
            codes_end_for_subject(
                subject_id=person, user_id=locked.pk, at=at, reason="account turned off"
            )
            if person is not None
            else 0
        )
        _entry(
            EventType.USER_DEACTIVATED,
            actor=actor,
            reason=reason,
            user=_user_body(locked),
            codesEnded=codes,
            **ended,
        )
    return locked


__all__ = [
    "ConsentError",
    "StaffActor",
    "client_key_retire",
    "client_redirect_uris_change",
    "identity_code_change",
    "provider_organisation_change",
    "regulator_assign",
    "regulator_change",
    "regulator_unassign",
    "user_active_set",
    "user_email_change",
    "user_password_set",
    "user_rights_change",
]
