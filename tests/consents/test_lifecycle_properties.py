"""Property tests: any sequence of acts on a consent follows the transition table, and the
log records exactly the acts that succeeded, in order."""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consents import services
from consents.errors import ConsentError
from consents.models import Consent, LogEntry
from consents.states import TRANSITIONS, Status
from tests.conftest import NOW, grant, provider_sharing_scope

ACTS = {
    "pause": (services.consent_pause, Status.PAUSED, "consent.paused"),
    "resume": (services.consent_resume, Status.ACTIVE, "consent.resumed"),
    "withdraw": (services.consent_withdraw, Status.WITHDRAWN, "consent.withdrawn"),
    "change": (None, Status.SUPERSEDED, "consent.superseded"),
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(acts=st.lists(st.sampled_from(sorted(ACTS)), min_size=1, max_size=8))
def test_any_sequence_of_acts_follows_the_table(
    citizen: Any, frozen_now: Any, acts: list[str]
) -> None:
    consent = grant(citizen, "provider-sharing")
    me = services.Actor.person(citizen.id)
    expected_types = ["consent.granted"]
    for act in acts:
        current = Consent.objects.get(pk=consent.pk)
        service, target, event = ACTS[act]
        allowed = target in TRANSITIONS[Status(current.status)]
        try:
            if service is None:
                consent = services.consent_change(
                    consent=current,
                    actor=me,
                    notice_text="changed",
                    language="en",
                    scope=provider_sharing_scope(dataCategories=["conditions"]),
                )
                expected_types += [event, "consent.changed"]
            else:
                service(consent=current, actor=me)
                expected_types.append(event)
        except ConsentError as exc:
            assert not allowed, f"{act} from {current.status} should have worked: {exc}"
            assert exc.code == "transition-forbidden"
            assert Consent.objects.get(pk=current.pk).status == current.status
        else:
            assert allowed, f"{act} from {current.status} should have been refused"
    logged = [
        json.loads(e.entry)["type"]
        for e in LogEntry.objects.filter(consent_lineage=consent.lineage).order_by("id")
    ]
    assert logged == expected_types
    live = Consent.objects.filter(lineage=consent.lineage).exclude(status=Status.SUPERSEDED)
    assert live.count() == 1  # exactly one version is not superseded
    assert all(
        e.occurred_at == NOW for e in LogEntry.objects.filter(consent_lineage=consent.lineage)
    )
