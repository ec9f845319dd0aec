"""Provider endpoints that push or ask through a connector: wellbeing data, offers, research.

Each authenticates the provider by its client credentials, resolves whom the flow concerns
from identity.Person, and calls one connector function, which asks the policy decision point
for every person and logs each decision. The answers carry counts or pseudonyms, never who
declined or who has no consent.
"""

from datetime import date
from typing import Any

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

import schemas
from connectors import biobank, offers, wellbeing
from consents.errors import not_permitted
from consents.kinds import KINDS, kinds_answering
from consents.models import Consent
from consents.policy import Flow, Recipient
from consents.states import Status
from mydata_operator.api.openapi import openapi_schema, problem_responses
from mydata_operator.identity.models import Person, Provider
from mydata_operator.identity.selectors import subject_id_for_code

from . import binding
from .views import ProviderApi


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def offer_candidates(target_group: dict[str, Any]) -> list[Any]:
    """Everyone the target group names by age. Tahto holds no municipality, so a
    municipality does not narrow the group; the consents decide who receives the offer."""
    today = timezone.localdate()
    people = Person.objects.all()
    if "ageFrom" in target_group:
        people = people.filter(birth_date__lte=_years_before(today, target_group["ageFrom"]))
    if "ageTo" in target_group:
        people = people.filter(birth_date__gt=_years_before(today, target_group["ageTo"] + 1))
    return list(people.values_list("id", flat=True))


def biobank_donors(provider: Provider) -> list[Any]:
    """The people who have ever given this biobank a consent (the decision point picks)."""
    names_biobank = Q(pk__in=[])
    for code in kinds_answering(Flow.RESEARCH):  # the research kinds name their recipient
        if key := KINDS[code].recipient_key:
            lookup = {f"scope__{key}__organisation": provider.organisation_id}
            names_biobank |= Q(kind=code, **lookup)
    return list(
        Consent.objects.filter(names_biobank)
        .exclude(status=Status.SUPERSEDED)
        .values_list("subject_id", flat=True)
        .distinct()
    )


class WellbeingSubmitApi(ProviderApi):
    @extend_schema(
        summary="Submit the citizen's self-produced FHIR Observations (a wellbeing application)",
        request={"application/json": openapi_schema("requests/wellbeing-submission.v1")},
        responses={
            202: {
                "type": "object",
                "description": "Accepted for routing; only what the consents permit is sent",
                "properties": {
                    "submissionId": {"type": "string", "description": "Id of this submission"},
                    "received": {"type": "integer", "description": "Resources received"},
                    "kantaPhr": {
                        "type": "object",
                        "description": "The decision on storing in Kanta PHR",
                        "properties": {
                            "outcome": {"type": "string", "description": "permit or deny"},
                            "reason": {"type": "string", "description": "Decision reason code"},
                            "queued": {"type": "integer", "description": "Resources queued"},
                        },
                    },
                    "providersQueued": {
                        "type": "integer",
                        "description": "Resources queued for providers the citizen shares with",
                    },
                },
            },
            **problem_responses(401, 403, 422),
        },
        tags=["provider: flows"],
    )
    def post(self, request: Request) -> Response:
        principal = self.principal(request)
        if principal.provider.kind != Provider.Kind.WELLBEING_APP:
            raise not_permitted(
                "Only a registered wellbeing application submits self-produced data."
            )
        schemas.validate("requests/wellbeing-submission.v1", request.data)
        subject_id = subject_id_for_code(request.data["subject"]["personalIdentityCode"])
        result = wellbeing.wellbeing_submit(
            subject_id=subject_id,
            source_application=principal.application.client_id,
            resources=request.data["resources"],
        )
        kanta = next(t for t in result.targets if t.target == wellbeing.KANTA_PHR)
        return Response(
            {
                "submissionId": str(result.submission_id),
                "received": result.received,
                "kantaPhr": {
                    "outcome": kanta.decision.outcome,
                    "reason": kanta.decision.reason.value,
                    "queued": kanta.queued,
                },
                "providersQueued": sum(t.queued for t in result.targets if t is not kanta),
            },
            status=202,
        )


class OfferSubmitApi(ProviderApi):
    @extend_schema(
        summary="Send an unsolicited service proposal to a target group (aggregate counts only)",
        request={"application/json": openapi_schema("requests/needs-assessment-offer.v1")},
        responses={
            202: {
                "type": "object",
                "description": 'Counts only; below 5 they read "<5"',
                "properties": {
                    "targeted": {
                        "oneOf": [{"type": "integer"}, {"type": "string"}],
                        "description": "People in the target group",
                    },
                    "delivered": {
                        "oneOf": [{"type": "integer"}, {"type": "string"}],
                        "description": "People whose consent let the proposal through",
                    },
                },
            },
            **problem_responses(401, 403, 422),
        },
        tags=["provider: flows"],
    )
    def post(self, request: Request) -> Response:
        principal = self.principal(request)
        schemas.validate("requests/needs-assessment-offer.v1", request.data)
        result = offers.offer_submit(
            sender=binding.recipient_for(principal.provider),
            offer=request.data,
            candidates=offer_candidates(request.data["targetGroup"]),
        )
        return Response(result.public(), status=202)


class ResearchRequestApi(ProviderApi):
    @extend_schema(
        summary="A biobank's DUO-coded research request: released donors as pseudonyms",
        request={"application/json": openapi_schema("requests/research-request.v1")},
        responses={
            200: {
                "type": "object",
                "description": "Donors whose consent covers the request",
                "properties": {
                    "matched": {"type": "integer", "description": "Donors released"},
                    "donors": {
                        "type": "array",
                        "description": "Released donors",
                        "items": {
                            "type": "object",
                            "description": "One released donor",
                            "properties": {
                                "pseudonym": {
                                    "type": "string",
                                    "description": "Stable for this biobank, unlinkable elsewhere",
                                },
                                "categories": {
                                    "type": "array",
                                    "items": {"type": "string", "description": "A data category"},
                                    "description": "Categories the consent permits",
                                },
                            },
                        },
                    },
                },
            },
            **problem_responses(401, 403, 422),
        },
        tags=["provider: flows"],
    )
    def post(self, request: Request) -> Response:
        principal = self.principal(request)
        if principal.provider.kind != Provider.Kind.BIOBANK:
            raise not_permitted("Only a registered biobank sends research requests.")
        result = biobank.research_request(
            biobank=Recipient(organisation=principal.organisation_id, kind=principal.provider.kind),
            request=request.data,
            donors=biobank_donors(principal.provider),
        )
        return Response(
            {
                "matched": result.matched,
                "donors": [
                    {"pseudonym": d.pseudonym, "categories": list(d.categories)}
                    for d in result.released
                ],
            }
        )
