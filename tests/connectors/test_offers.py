"""An unsolicited offer reaches only those whose consent covers it; the sender learns counts."""

from typing import Any

import pytest

from connectors.models import OfferDelivery
from connectors.offers import OfferResult, offer_submit
from consents.errors import ConsentError
from consents.policy import Recipient
from tests.conftest import COUNTY_OID, grant, needs_assessment_scope

COUNTY = Recipient(organisation=COUNTY_OID)


def offer(**overrides: Any) -> dict[str, Any]:
    return {
        "sender": COUNTY_OID,
        "lifeArea": "health",
        "channel": "dashboard",
        "title": "Virtuaalinen terveystarkastus",
        "body": "Tervetuloa virtuaaliseen terveystarkastukseen.",
        "targetGroup": {"ageFrom": 40, "ageTo": 65},
        **overrides,
    }


def test_offer_is_delivered_only_to_consenting_candidates(citizen: Any, other_citizen: Any) -> None:
    grant(citizen, "needs-assessment")
    result = offer_submit(sender=COUNTY, offer=offer(), candidates=[citizen.id, other_citizen.id])
    assert result == OfferResult(targeted=2, delivered=1)
    assert list(OfferDelivery.objects.values_list("subject_id", flat=True)) == [citizen.id]


def test_offer_in_a_channel_the_consent_does_not_cover_is_not_delivered(citizen: Any) -> None:
    grant(citizen, "needs-assessment", scope=needs_assessment_scope(channels=["sms"]))
    result = offer_submit(sender=COUNTY, offer=offer(), candidates=[citizen.id])
    assert result.delivered == 0


def test_offer_for_a_life_area_the_consent_does_not_cover_is_not_delivered(
    citizen: Any,
) -> None:
    grant(citizen, "needs-assessment")
    result = offer_submit(sender=COUNTY, offer=offer(lifeArea="housing"), candidates=[citizen.id])
    assert result.delivered == 0


def test_the_sender_sees_small_counts_only_as_fewer_than_five(citizen: Any) -> None:
    grant(citizen, "needs-assessment")
    result = offer_submit(sender=COUNTY, offer=offer(), candidates=[citizen.id])
    assert result.public() == {"targeted": "<5", "delivered": "<5"}
    assert OfferResult(targeted=40, delivered=0).public() == {"targeted": 40, "delivered": 0}


def test_an_offer_in_another_senders_name_is_refused(citizen: Any) -> None:
    with pytest.raises(ConsentError):
        offer_submit(
            sender=Recipient(organisation="1.2.246.10.1.1.1"), offer=offer(), candidates=[]
        )
