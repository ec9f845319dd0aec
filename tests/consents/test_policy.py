"""The policy decision point, table-tested without a database, over all four kinds."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consents.models import Consent
from consents.policy import Decision, DecisionRequest, Flow, Reason, Recipient, decide
from consents.states import Provision, Status
from tests.conftest import (
    APP_ID,
    BIOBANK_OID,
    COUNTY_OID,
    PROVIDER_OID,
    biobank_scope,
    needs_assessment_scope,
    provider_sharing_scope,
    wellbeing_scope,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SUBJECT = uuid.UUID("00000000-0000-4000-8000-000000000001")
OTHER = uuid.UUID("00000000-0000-4000-8000-000000000002")
GUARDIAN = uuid.UUID("00000000-0000-4000-8000-0000000000aa")


def consent(
    kind: str,
    scope: dict[str, Any],
    *,
    status: str = Status.ACTIVE,
    provision: str = Provision.PERMIT,
    start: datetime = NOW - timedelta(days=30),
    end: datetime | None = NOW + timedelta(days=30),
    created: datetime | None = None,
    subject: uuid.UUID = SUBJECT,
    granted_by: uuid.UUID | None = None,
    version: int = 1,
) -> Consent:
    cid = uuid.uuid4()
    return Consent(
        id=cid,
        lineage=cid,
        version=version,
        kind=kind,
        scope=scope,
        status=status,
        provision=provision,
        valid_from=start,
        valid_until=end,
        subject_id=subject,
        granted_by=granted_by or subject,
        created_at=created or start,
        updated_at=created or start,
    )


def provider_request(**kw: Any) -> DecisionRequest:
    base: dict[str, Any] = {
        "subject_id": SUBJECT,
        "flow": Flow.PROVIDER_ACCESS,
        "recipient": Recipient(organisation=PROVIDER_OID, kind="care-provider"),
        "at": NOW,
        "purpose": "care",
        "data_categories": frozenset({"conditions"}),
    }
    return DecisionRequest(**{**base, **kw})


def research_request(research: dict[str, Any] | None = None, **kw: Any) -> DecisionRequest:
    base: dict[str, Any] = {
        "subject_id": SUBJECT,
        "flow": Flow.RESEARCH,
        "recipient": Recipient(organisation=BIOBANK_OID, kind="biobank"),
        "at": NOW,
        "purpose": "research",
        "data_categories": frozenset({"samples", "conditions"}),
        "research": research
        or {
            "purpose": {"code": "HMB"},
            "declarations": ["NPU"],
            "dataCategories": ["samples", "conditions"],
        },
    }
    return DecisionRequest(**{**base, **kw})


def offer_request(**kw: Any) -> DecisionRequest:
    base: dict[str, Any] = {
        "subject_id": SUBJECT,
        "flow": Flow.NEEDS_ASSESSMENT,
        "recipient": Recipient(organisation=COUNTY_OID, kind="wellbeing-county"),
        "at": NOW,
        "purpose": "service-need-assessment",
        "channel": "dashboard",
        "life_area": "health",
    }
    return DecisionRequest(**{**base, **kw})


def phr_request(**kw: Any) -> DecisionRequest:
    base: dict[str, Any] = {
        "subject_id": SUBJECT,
        "flow": Flow.PHR_STORE,
        "recipient": Recipient(kanta_phr=True),
        "at": NOW,
        "purpose": "self-care-support",
        "data_categories": frozenset({"blood-pressure"}),
        "source": APP_ID,
    }
    return DecisionRequest(**{**base, **kw})


PS, BB, NA, WB = "provider-sharing", "biobank", "needs-assessment", "wellbeing-sharing"

CASES: list[tuple[str, list[Consent], DecisionRequest, Reason]] = [
    # --- no consent at all is a deny, for every flow
    ("provider: no consent", [], provider_request(), Reason.NO_CONSENT),
    ("research: no consent", [], research_request(), Reason.NO_CONSENT),
    ("offer: no consent", [], offer_request(), Reason.NO_CONSENT),
    ("phr: no consent", [], phr_request(), Reason.NO_CONSENT),
    # --- provider sharing
    (
        "provider: active consent permits",
        [consent(PS, provider_sharing_scope())],
        provider_request(),
        Reason.PERMITTED,
    ),
    (
        "provider: by provider kind",
        [consent(PS, provider_sharing_scope(recipient={"providerKind": "care-provider"}))],
        provider_request(),
        Reason.PERMITTED,
    ),
    (
        "provider: another organisation",
        [consent(PS, provider_sharing_scope(recipient={"organisation": "1.2.246.10.9.9"}))],
        provider_request(),
        Reason.NO_CONSENT,
    ),
    (
        "provider: another purpose",
        [consent(PS, provider_sharing_scope())],
        provider_request(purpose="research"),
        Reason.PURPOSE,
    ),
    (
        "provider: categories not covered",
        [consent(PS, provider_sharing_scope())],
        provider_request(data_categories=frozenset({"immunizations"})),
        Reason.CATEGORIES,
    ),
    (
        "provider: withdrawn",
        [consent(PS, provider_sharing_scope(), status=Status.WITHDRAWN)],
        provider_request(),
        Reason.WITHDRAWN,
    ),
    (
        "provider: paused",
        [consent(PS, provider_sharing_scope(), status=Status.PAUSED)],
        provider_request(),
        Reason.PAUSED,
    ),
    (
        "provider: revoked",
        [consent(PS, provider_sharing_scope(), status=Status.REVOKED)],
        provider_request(),
        Reason.REVOKED,
    ),
    (
        "provider: terminated",
        [consent(PS, provider_sharing_scope(), status=Status.TERMINATED)],
        provider_request(),
        Reason.TERMINATED,
    ),
    (
        "provider: still only requested",
        [consent(PS, provider_sharing_scope(), status=Status.REQUESTED)],
        provider_request(),
        Reason.NOT_APPROVED,
    ),
    (
        "provider: rejected",
        [consent(PS, provider_sharing_scope(), status=Status.REJECTED)],
        provider_request(),
        Reason.NOT_APPROVED,
    ),
    (
        "provider: superseded version is ignored",
        [consent(PS, provider_sharing_scope(), status=Status.SUPERSEDED)],
        provider_request(),
        Reason.NO_CONSENT,
    ),
    (
        "provider: period ended though not yet marked expired",
        [consent(PS, provider_sharing_scope(), end=NOW - timedelta(seconds=1))],
        provider_request(),
        Reason.EXPIRED,
    ),
    (
        "provider: ends exactly now",
        [consent(PS, provider_sharing_scope(), end=NOW)],
        provider_request(),
        Reason.EXPIRED,
    ),
    (
        "provider: not yet valid",
        [consent(PS, provider_sharing_scope(), start=NOW + timedelta(days=1))],
        provider_request(),
        Reason.NOT_YET_VALID,
    ),
    (
        "provider: expired status",
        [consent(PS, provider_sharing_scope(), status=Status.EXPIRED)],
        provider_request(),
        Reason.EXPIRED,
    ),
    (
        "provider: open-ended consent",
        [consent(PS, provider_sharing_scope(), end=None)],
        provider_request(at=NOW + timedelta(days=3650)),
        Reason.PERMITTED,
    ),
    (
        "provider: another person's consent never counts",
        [consent(PS, provider_sharing_scope(), subject=OTHER)],
        provider_request(),
        Reason.NO_CONSENT,
    ),
    (
        "provider: a refusal wins over an older permit",
        [
            consent(PS, provider_sharing_scope(), created=NOW - timedelta(days=10)),
            consent(
                PS,
                provider_sharing_scope(),
                provision=Provision.DENY,
                created=NOW - timedelta(days=20),
            ),
        ],
        provider_request(),
        Reason.REFUSED,
    ),
    (
        "provider: a refusal wins over a newer permit",
        [
            consent(PS, provider_sharing_scope(), created=NOW - timedelta(days=1)),
            consent(
                PS,
                provider_sharing_scope(),
                provision=Provision.DENY,
                created=NOW - timedelta(days=20),
            ),
        ],
        provider_request(),
        Reason.REFUSED,
    ),
    (
        "provider: a withdrawn refusal no longer denies",
        [
            consent(PS, provider_sharing_scope()),
            consent(
                PS, provider_sharing_scope(), provision=Provision.DENY, status=Status.WITHDRAWN
            ),
        ],
        provider_request(),
        Reason.PERMITTED,
    ),
    (
        "provider: self-produced data needs a wellbeing-sharing consent",
        [consent(PS, provider_sharing_scope())],
        provider_request(data_categories=frozenset({"steps"})),
        Reason.CATEGORIES,
    ),
    (
        "provider: self-produced data under wellbeing-sharing",
        [consent(WB, wellbeing_scope())],
        provider_request(data_categories=frozenset({"steps"})),
        Reason.PERMITTED,
    ),
    # --- acting on behalf: a guardian's consent for a child decides like the child's own
    (
        "on behalf: guardian-granted consent permits",
        [consent(PS, provider_sharing_scope(), granted_by=GUARDIAN)],
        provider_request(),
        Reason.PERMITTED,
    ),
    (
        "on behalf: guardian-granted consent withdrawn",
        [consent(PS, provider_sharing_scope(), granted_by=GUARDIAN, status=Status.WITHDRAWN)],
        provider_request(),
        Reason.WITHDRAWN,
    ),
    (
        "on behalf: revoked when the guardianship ended",
        [consent(PS, provider_sharing_scope(), granted_by=GUARDIAN, status=Status.REVOKED)],
        provider_request(),
        Reason.REVOKED,
    ),
    # --- biobank and DUO
    (
        "research: HMB consent, HMB request",
        [consent(BB, biobank_scope())],
        research_request(),
        Reason.PERMITTED,
    ),
    (
        "research: HMB consent does not cover ancestry",
        [consent(BB, biobank_scope())],
        research_request({"purpose": {"code": "POA"}, "declarations": ["NPU"]}),
        Reason.DUO,
    ),
    (
        "research: NPU unsatisfied",
        [consent(BB, biobank_scope())],
        research_request({"purpose": {"code": "HMB"}, "declarations": []}),
        Reason.DUO,
    ),
    (
        "research: DS covers a more specific disease",
        [consent(BB, biobank_scope(permission={"code": "DS", "disease": "C50"}, modifiers=[]))],
        research_request({"purpose": {"code": "DS", "disease": "C50.9"}, "declarations": []}),
        Reason.PERMITTED,
    ),
    (
        "research: DS does not cover another disease",
        [consent(BB, biobank_scope(permission={"code": "DS", "disease": "C50"}, modifiers=[]))],
        research_request({"purpose": {"code": "DS", "disease": "C51"}, "declarations": []}),
        Reason.DUO,
    ),
    (
        "research: another biobank",
        [consent(BB, biobank_scope())],
        research_request(recipient=Recipient(organisation="1.2.246.10.5.5", kind="biobank")),
        Reason.NO_CONSENT,
    ),
    (
        "research: withdrawn biobank consent stops later use",
        [consent(BB, biobank_scope(), status=Status.WITHDRAWN)],
        research_request(),
        Reason.WITHDRAWN,
    ),
    # --- needs assessment
    (
        "offer: covered sender, channel and area",
        [consent(NA, needs_assessment_scope())],
        offer_request(),
        Reason.PERMITTED,
    ),
    (
        "offer: sender by kind",
        [consent(NA, needs_assessment_scope(senders=[{"providerKind": "wellbeing-county"}]))],
        offer_request(),
        Reason.PERMITTED,
    ),
    (
        "offer: channel not covered",
        [consent(NA, needs_assessment_scope())],
        offer_request(channel="letter"),
        Reason.CHANNEL,
    ),
    (
        "offer: life area not covered",
        [consent(NA, needs_assessment_scope())],
        offer_request(life_area="housing"),
        Reason.LIFE_AREA,
    ),
    (
        "offer: another sender",
        [consent(NA, needs_assessment_scope())],
        offer_request(recipient=Recipient(organisation="1.2.246.10.8.8")),
        Reason.NO_CONSENT,
    ),
    (
        "offer: refused",
        [consent(NA, needs_assessment_scope(), provision=Provision.DENY)],
        offer_request(),
        Reason.REFUSED,
    ),
    # --- wellbeing data to Kanta PHR and to providers
    ("phr: permitted", [consent(WB, wellbeing_scope())], phr_request(), Reason.PERMITTED),
    (
        "phr: unknown source app",
        [consent(WB, wellbeing_scope())],
        phr_request(source="other-app"),
        Reason.SOURCE,
    ),
    (
        "phr: category not covered",
        [consent(WB, wellbeing_scope())],
        phr_request(data_categories=frozenset({"sleep"})),
        Reason.CATEGORIES,
    ),
    (
        "phr: no kanta target",
        [
            consent(
                WB,
                wellbeing_scope(
                    targets=[{"type": "provider", "recipient": {"organisation": PROVIDER_OID}}]
                ),
            )
        ],
        phr_request(),
        Reason.NO_CONSENT,
    ),
    (
        "push: to the chosen provider",
        [consent(WB, wellbeing_scope())],
        phr_request(flow=Flow.PROVIDER_PUSH, recipient=Recipient(organisation=PROVIDER_OID)),
        Reason.PERMITTED,
    ),
    (
        "push: to another provider",
        [consent(WB, wellbeing_scope())],
        phr_request(flow=Flow.PROVIDER_PUSH, recipient=Recipient(organisation="1.2.246.10.7")),
        Reason.NO_CONSENT,
    ),
    (
        "push: expired consent",
        [consent(WB, wellbeing_scope(), end=NOW - timedelta(days=1))],
        phr_request(flow=Flow.PROVIDER_PUSH, recipient=Recipient(organisation=PROVIDER_OID)),
        Reason.EXPIRED,
    ),
]


@pytest.mark.parametrize(
    ("consents", "request_", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide(consents: list[Consent], request_: DecisionRequest, expected: Reason) -> None:
    decision = decide(request_, consents)
    assert decision.reason == expected
    assert decision.permit == (expected == Reason.PERMITTED)
    assert decision.explanation  # a reason a citizen can read, never empty
    if decision.permit:
        assert decision.consent_id in {c.id for c in consents}


def test_permit_is_narrowed_to_what_the_consent_names() -> None:
    decision = decide(
        provider_request(data_categories=frozenset({"conditions", "immunizations"})),
        [consent(PS, provider_sharing_scope())],
    )
    assert decision.permit and decision.permitted_categories == {"conditions"}


def test_newest_permit_decides() -> None:
    older = consent(
        PS,
        provider_sharing_scope(dataCategories=["conditions", "medications"]),
        created=NOW - timedelta(days=9),
    )
    newer = consent(
        PS, provider_sharing_scope(dataCategories=["conditions"]), created=NOW - timedelta(days=1)
    )
    decision = decide(
        provider_request(data_categories=frozenset({"conditions", "medications"})), [older, newer]
    )
    assert decision.consent_id == newer.id and decision.permitted_categories == {"conditions"}


def test_token_bound_request_only_sees_its_own_consent() -> None:
    bound = consent(PS, provider_sharing_scope(), status=Status.WITHDRAWN)
    other = consent(PS, provider_sharing_scope())
    decision = decide(provider_request(consent_lineage=bound.lineage), [bound, other])
    assert decision.reason == Reason.WITHDRAWN and decision.consent_id == bound.id


def test_token_bound_to_a_consent_for_another_recipient_is_denied() -> None:
    bound = consent(PS, provider_sharing_scope(recipient={"organisation": "1.2.246.10.4.4"}))
    decision = decide(provider_request(consent_lineage=bound.lineage), [bound])
    assert decision.reason == Reason.WRONG_RECIPIENT


def test_a_category_the_token_was_not_granted_is_denied_naming_it() -> None:
    bound = consent(PS, provider_sharing_scope(dataCategories=["conditions", "medications"]))
    decision = decide(
        provider_request(
            consent_lineage=bound.lineage,
            data_categories=frozenset({"medications"}),
            granted_categories=frozenset({"conditions"}),
        ),
        [bound],
    )
    assert not decision.permit and decision.reason == Reason.NOT_GRANTED
    assert "medications" in decision.explanation and decision.consent_id == bound.id


def test_a_permit_is_narrowed_to_what_the_token_was_granted() -> None:
    bound = consent(PS, provider_sharing_scope(dataCategories=["conditions", "medications"]))
    decision = decide(
        provider_request(
            consent_lineage=bound.lineage,
            data_categories=frozenset({"conditions", "medications"}),
            granted_categories=frozenset({"conditions"}),
        ),
        [bound],
    )
    assert decision.permit and decision.permitted_categories == {"conditions"}


def test_an_action_the_token_was_not_granted_is_denied() -> None:
    bound = consent(PS, provider_sharing_scope())
    decision = decide(
        provider_request(consent_lineage=bound.lineage, granted_actions=frozenset()), [bound]
    )
    assert decision.reason == Reason.NOT_GRANTED and "read" in decision.explanation


def test_a_halted_consent_says_so_before_what_the_token_was_granted() -> None:
    bound = consent(PS, provider_sharing_scope(), status=Status.WITHDRAWN)
    decision = decide(
        provider_request(
            consent_lineage=bound.lineage,
            data_categories=frozenset({"medications"}),
            granted_categories=frozenset({"conditions"}),
        ),
        [bound],
    )
    assert decision.reason == Reason.WITHDRAWN


def test_frequency_limit_counts_earlier_permits() -> None:
    limited = consent(PS, provider_sharing_scope(frequencyPerDay=2))
    assert decide(provider_request(), [limited], {limited.lineage: 1}).permit
    decision: Decision = decide(provider_request(), [limited], {limited.lineage: 2})
    assert decision.reason == Reason.FREQUENCY


def test_omitted_frequency_applies_the_operators_default_limit(settings: Any) -> None:
    settings.TAHTO_DEFAULT_FREQUENCY_PER_DAY = 3
    unlimited = consent(PS, provider_sharing_scope())
    assert "frequencyPerDay" not in unlimited.scope
    assert decide(provider_request(), [unlimited], {unlimited.lineage: 2}).permit
    decision = decide(provider_request(), [unlimited], {unlimited.lineage: 3})
    assert decision.reason == Reason.FREQUENCY


def test_scope_frequency_overrides_the_default_limit(settings: Any) -> None:
    settings.TAHTO_DEFAULT_FREQUENCY_PER_DAY = 3
    generous = consent(PS, provider_sharing_scope(frequencyPerDay=10))
    assert decide(provider_request(), [generous], {generous.lineage: 5}).permit


def test_a_default_limit_of_zero_means_no_default(settings: Any) -> None:
    settings.TAHTO_DEFAULT_FREQUENCY_PER_DAY = 0
    unlimited = consent(PS, provider_sharing_scope())
    assert decide(provider_request(), [unlimited], {unlimited.lineage: 10_000}).permit


def test_duo_failure_explains_the_rule() -> None:
    decision = decide(
        research_request({"purpose": {"code": "HMB"}, "declarations": []}),
        [consent(BB, biobank_scope())],
    )
    assert not decision.permit and "NPU" in decision.detail_code


def test_refused_research_names_the_active_consent_not_an_older_withdrawn_one() -> None:
    older = consent(
        BB,
        biobank_scope(permission={"code": "GRU"}, modifiers=[]),
        status=Status.WITHDRAWN,
        created=NOW - timedelta(days=20),
    )
    active = consent(BB, biobank_scope(), created=NOW - timedelta(days=2))  # HMB, NPU
    decision = decide(
        research_request({"purpose": {"code": "POA"}, "declarations": ["NPU"]}), [older, active]
    )
    assert not decision.permit
    assert decision.reason == Reason.DUO
    assert decision.consent_id == active.id
    assert decision.detail_code == "duo.permission-not-covered"


def test_refused_research_with_only_withdrawn_consents_still_says_withdrawn() -> None:
    older = consent(BB, biobank_scope(), status=Status.WITHDRAWN, created=NOW - timedelta(9))
    newer = consent(BB, biobank_scope(), status=Status.REVOKED, created=NOW - timedelta(3))
    decision = decide(research_request(), [older, newer])
    assert decision.reason == Reason.WITHDRAWN and decision.consent_id == older.id


def test_samples_are_permitted_by_the_consent_to_collect_them() -> None:
    scope = biobank_scope(dataCategories=["conditions"])  # samples.collect is true
    decision = decide(research_request(), [consent(BB, scope)])
    assert decision.permit
    assert decision.permitted_categories == {"samples", "conditions"}


def test_samples_listed_without_collecting_them_are_not_permitted() -> None:
    scope = biobank_scope(samples={"collect": False}, dataCategories=["conditions"])
    decision = decide(research_request(), [consent(BB, scope)])
    assert decision.reason == Reason.DUO and decision.detail_code == "duo.samples-not-consented"


def test_todays_uses_are_counted_only_for_consents_that_could_permit(
    db: Any, django_assert_num_queries: Any
) -> None:
    """A person's ended, paused and other recipients' limited consents cost no COUNT: only
    an in-force consent to this recipient can be held back by its daily limit."""
    from consents.policy import _usage

    in_force = consent(PS, provider_sharing_scope(frequencyPerDay=2))
    ended = [
        consent(PS, provider_sharing_scope(frequencyPerDay=2), status=status)
        for status in (Status.WITHDRAWN, Status.PAUSED, Status.EXPIRED)
    ]
    run_out = consent(PS, provider_sharing_scope(frequencyPerDay=2), end=NOW - timedelta(days=1))
    elsewhere = consent(
        PS,
        provider_sharing_scope(
            frequencyPerDay=2, recipient={"organisation": COUNTY_OID, "name": "County"}
        ),
    )
    with django_assert_num_queries(1):
        usage = _usage(provider_request(), [in_force, *ended, run_out, elsewhere])
    assert usage == {in_force.lineage: 0}
