"""The lifecycle services: each change logged with its receipt, bad input writing nothing."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from consents import log, services
from consents.errors import ConsentError
from consents.models import Consent, LogEntry, Mandate, Receipt
from consents.states import Status
from tests.conftest import NOW, biobank_scope, grant, provider_sharing_scope

pytestmark = pytest.mark.usefixtures("frozen_now")


def counts() -> tuple[int, int, int]:
    return Consent.objects.count(), LogEntry.objects.count(), Receipt.objects.count()


def entries(consent: Consent) -> list[dict[str, Any]]:
    return [
        json.loads(e.entry)
        for e in LogEntry.objects.filter(consent_lineage=consent.lineage).order_by("id")
    ]


@pytest.mark.parametrize(
    "kind", ["provider-sharing", "biobank", "needs-assessment", "wellbeing-sharing"]
)
def test_grant_of_each_kind_is_active_logged_and_receipted(citizen: Any, kind: str) -> None:
    consent = grant(citizen, kind)
    assert consent.status == Status.ACTIVE
    [entry] = entries(consent)
    assert entry["type"] == "consent.granted"
    assert entry["subject"] == str(citizen.id) and entry["actor"] == str(citizen.id)
    assert entry["actorDetail"] == {"type": "person", "id": str(citizen.id), "role": "self"}
    assert entry["noticeSha256"] == consent.notice_id and len(consent.notice_id) == 64
    assert entry["time"] == "2026-03-02T09:30:00.000000Z"
    assert Receipt.objects.filter(consent=consent, event_type="consent.granted").count() == 1


def test_log_entries_never_hold_the_personal_identity_code(citizen: Any) -> None:
    grant(citizen, "provider-sharing")
    for entry in LogEntry.objects.all():
        assert citizen.personal_identity_code not in entry.entry


def test_withdraw_pause_resume_each_logged(citizen: Any) -> None:
    consent = grant(citizen, "provider-sharing")
    me = services.Actor.person(citizen.id)
    services.consent_pause(consent=consent, actor=me)
    services.consent_resume(consent=consent, actor=me)
    services.consent_withdraw(consent=consent, actor=me, reason="moved abroad")
    consent.refresh_from_db()
    assert consent.status == Status.WITHDRAWN
    assert [e["type"] for e in entries(consent)] == [
        "consent.granted",
        "consent.paused",
        "consent.resumed",
        "consent.withdrawn",
    ]
    assert entries(consent)[-1]["reason"] == "moved abroad"
    assert entries(consent)[-1]["fromStatus"] == "active"
    assert Receipt.objects.filter(consent=consent).count() == 4


def test_second_withdrawal_is_refused_and_changes_nothing(citizen: Any) -> None:
    consent = grant(citizen, "provider-sharing")
    me = services.Actor.person(citizen.id)
    services.consent_withdraw(consent=consent, actor=me)
    before = counts()
    with pytest.raises(ConsentError) as info:
        services.consent_withdraw(consent=consent, actor=me)
    assert info.value.code == "transition-forbidden" and info.value.status == 409
    assert counts() == before


def test_change_makes_a_new_version_and_supersedes_the_old(citizen: Any) -> None:
    old = grant(citizen, "provider-sharing")
    new = services.consent_change(
        consent=old,
        actor=services.Actor.person(citizen.id),
        scope=provider_sharing_scope(dataCategories=["conditions"]),
        notice_text="Changed notice",
        language="en",
    )
    old.refresh_from_db()
    assert old.status == Status.SUPERSEDED and new.status == Status.ACTIVE
    assert (new.lineage, new.version, new.supersedes_id) == (old.lineage, 2, old.id)
    assert [e["type"] for e in entries(new)] == [
        "consent.granted",
        "consent.superseded",
        "consent.changed",
    ]
    assert Receipt.objects.filter(consent=new, event_type="consent.changed").exists()


def test_request_then_approve_records_the_notice_shown_at_approval(citizen: Any) -> None:
    consent = services.consent_request(
        subject_id=citizen.id,
        requester="1.2.246.10.1234567.10.0",
        kind="provider-sharing",
        scope=provider_sharing_scope(),
        valid_until=NOW + timedelta(days=90),
    )
    assert consent.status == Status.REQUESTED and consent.notice is None
    services.consent_approve(
        consent=consent,
        actor=services.Actor.person(citizen.id),
        notice_text="Terveys Oy asks ...",
        language="fi",
    )
    consent.refresh_from_db()
    assert consent.status == Status.ACTIVE
    assert consent.notice is not None and consent.notice.text == "Terveys Oy asks ..."
    assert [e["type"] for e in entries(consent)] == ["consent.requested", "consent.approved"]
    assert entries(consent)[0]["actorDetail"] == {
        "type": "provider",
        "id": "1.2.246.10.1234567.10.0",
    }


def test_request_not_answered_in_time_cannot_be_approved_and_expires(citizen: Any) -> None:
    consent = services.consent_request(
        subject_id=citizen.id,
        requester="1.2.246.10.1",
        kind="provider-sharing",
        scope=provider_sharing_scope(),
        request_valid_days=3,
    )
    later = NOW + timedelta(days=4)
    with pytest.raises(ConsentError) as info:
        services.consent_approve(
            consent=consent, actor=services.Actor.person(citizen.id), notice_text="n", now=later
        )
    assert info.value.code == "request-expired"
    assert services.consents_expire(now=later) == 1
    consent.refresh_from_db()
    assert consent.status == Status.EXPIRED


def test_terminate_only_by_the_requesting_provider(citizen: Any) -> None:
    consent = services.consent_request(
        subject_id=citizen.id,
        requester="1.2.246.10.1",
        kind="provider-sharing",
        scope=provider_sharing_scope(),
    )
    with pytest.raises(ConsentError):
        services.consent_terminate(consent=consent, requester="1.2.246.10.2")
    services.consent_terminate(consent=consent, requester="1.2.246.10.1", reason="care ended")
    consent.refresh_from_db()
    assert consent.status == Status.TERMINATED


def test_expiry_marks_consents_whose_period_ended(citizen: Any) -> None:
    ending = grant(citizen, "provider-sharing", valid_until=NOW + timedelta(days=1))
    lasting = grant(citizen, "biobank")
    assert services.consents_expire(now=NOW + timedelta(days=2)) == 1
    ending.refresh_from_db()
    lasting.refresh_from_db()
    assert (ending.status, lasting.status) == (Status.EXPIRED, Status.ACTIVE)
    assert entries(ending)[-1]["actorDetail"] == {"type": "system", "id": "tahto"}


# --- Acting on behalf ----------------------------------------------------------------------


def test_guardian_grants_for_child_and_the_log_records_both(family: Any) -> None:
    consent = grant(family.child, "biobank", actor=family.guardian)
    [entry] = entries(consent)
    assert entry["subject"] == str(family.child.id)
    assert entry["actor"] == str(family.guardian.id)
    assert entry["actorDetail"]["role"] == "guardian"
    assert consent.granted_by == family.guardian.id


def test_stranger_cannot_grant_for_someone_else(citizen: Any, other_citizen: Any) -> None:
    before = counts()
    with pytest.raises(ConsentError) as info:
        grant(other_citizen, "provider-sharing", actor=citizen)
    assert info.value.code == "no-mandate" and info.value.status == 403
    assert counts() == before


def test_ended_guardianship_stops_acting_but_keeps_the_consents(family: Any) -> None:
    consent = grant(family.child, "biobank", actor=family.guardian)
    services.mandate_end(
        mandate=family.mandate, actor=services.Actor.system(), reason="child turned 18"
    )
    with pytest.raises(ConsentError):
        services.consent_withdraw(consent=consent, actor=services.Actor.person(family.guardian.id))
    consent.refresh_from_db()
    assert consent.status == Status.ACTIVE


def test_mandate_outside_its_validity_does_not_count(family: Any) -> None:
    after_18 = datetime(2033, 6, 2, tzinfo=UTC)
    with pytest.raises(ConsentError):
        services.consent_grant(
            subject_id=family.child.id,
            actor=services.Actor.person(family.guardian.id),
            kind="biobank",
            scope=biobank_scope(),
            notice_text="n",
            now=after_18,
        )


def test_mandate_limited_to_some_kinds(citizen: Any, other_citizen: Any) -> None:
    services.mandate_create(
        principal_id=other_citizen.id,
        agent_id=citizen.id,
        basis=Mandate.Basis.MANDATE,
        kinds=["wellbeing-sharing"],
        actor=services.Actor.person(other_citizen.id),
    )
    grant(other_citizen, "wellbeing-sharing", actor=citizen)
    with pytest.raises(ConsentError):
        grant(other_citizen, "biobank", actor=citizen)


# --- Bad input writes nothing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "scope", "pointer"),
    [
        ("provider-sharing", provider_sharing_scope(colour="blue"), "/scope/colour"),
        (
            "provider-sharing",
            {"dataCategories": ["conditions"], "purpose": "care"},
            "/scope/recipient",
        ),
        ("biobank", {**biobank_scope(), "modifiers": ["XYZ"]}, "/scope/modifiers/0"),
        ("unknown-kind", {}, "/kind"),
    ],
)
def test_invalid_scope_names_the_field_and_writes_nothing(
    citizen: Any, kind: str, scope: dict[str, Any], pointer: str
) -> None:
    before = counts()
    with pytest.raises(ConsentError) as info:
        grant(citizen, kind, scope=scope)
    assert pointer in [e.pointer for e in info.value.errors]
    assert counts() == before


def test_period_ending_before_it_starts_is_refused(citizen: Any) -> None:
    with pytest.raises(ConsentError) as info:
        grant(citizen, "provider-sharing", valid_until=NOW - timedelta(days=1))
    assert info.value.errors[0].pointer == "/period/end"
    assert counts() == (0, 0, 0)


def test_failure_half_way_leaves_no_trace(citizen: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_sign(payload: dict[str, Any]) -> str:
        raise RuntimeError("signing key unavailable")

    monkeypatch.setattr("consents.receipts.receipt_sign", broken_sign)
    size_before = log.log_head().size
    with pytest.raises(RuntimeError):
        grant(citizen, "provider-sharing")
    assert counts() == (0, 0, 0)
    assert log.log_integrate() == 0  # nothing was left for the integrator either
    assert log.log_head().size == size_before


# --- The database itself refuses changes to the log ------------------------------------------


def test_database_refuses_update_and_delete_of_log_entries(citizen: Any) -> None:
    grant(citizen, "provider-sharing")
    for attempt in (
        lambda: LogEntry.objects.update(entry="{}"),
        lambda: LogEntry.objects.all().delete(),
        lambda: Receipt.objects.update(jws="x"),
    ):
        with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
            attempt()
    assert LogEntry.objects.exclude(entry="{}").count() == LogEntry.objects.count() == 1


def test_receipt_speaks_the_language_of_the_notice_read(citizen: Any) -> None:
    from consents import keys, receipts

    consent = grant(citizen, "provider-sharing")  # the fixture's notice is in English
    [receipt] = Receipt.objects.filter(consent=consent)
    payload = receipts.receipt_verify(receipt.jws, keys.public_jwks())
    assert payload["language"] == "en"
