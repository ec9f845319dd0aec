"""The citizen's consent API: list, grant, change, pause, resume, withdraw, approve, reject.

Thin views: parse and check the body against its JSON Schema, call one service, render.
A consent of someone the user may not act for is a 404, never a hint that it exists.
Every method that changes a consent is refused with 403 `step-up-required` while the session's
last proof of identity is older than the step-up window (`mydata_operator.security.stepup`),
before anything is read or changed.
"""

from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import schemas
from consents import fhir, services
from consents.errors import not_permitted
from consents.log import b64, iso
from consents.models import Consent
from mydata_operator.api.openapi import openapi_schema, problem_responses
from mydata_operator.api.parsers import datetime_field
from mydata_operator.identity.selectors import person_for_user
from mydata_operator.security.stepup import step_up_api

from . import selectors
from .auth import READ, WRITE, AppScopeAllows, CitizenAppTokenAuthentication


class CitizenApi(APIView):
    """A citizen API call: a signed-in session, or a citizen's own app with a DPoP-bound
    token, limited by its scopes (`app_scope`: method -> scope; empty: not for apps)."""

    authentication_classes = [CitizenAppTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, AppScopeAllows]
    app_scope: dict[str, str] = {}


class CitizenLinkSerializer(serializers.Serializer):
    href = serializers.CharField(help_text="URL path of the related resource")


class _PeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="In force from (UTC)")
    end = serializers.DateTimeField(allow_null=True, help_text="Until; null: open-ended")


class _NoticeRefSerializer(serializers.Serializer):
    sha256 = serializers.CharField(help_text="SHA-256 of the exact notice text shown")


class _ConsentLinksSerializer(serializers.Serializer):
    self = CitizenLinkSerializer()
    history = CitizenLinkSerializer()
    fhir = CitizenLinkSerializer()
    receipts = CitizenLinkSerializer()


class CitizenConsentSerializer(serializers.Serializer):
    """A consent as the citizen API shows it (OpenAPI description only)."""

    id = serializers.UUIDField(help_text="Id of this version of the consent")
    lineage = serializers.UUIDField(help_text="Id of the first version; the same for all")
    version = serializers.IntegerField(help_text="Version number, from 1")
    kind = serializers.CharField(
        help_text="biobank, needs-assessment, provider-sharing or wellbeing-sharing"
    )
    provision = serializers.CharField(help_text="permit, or deny for a refusal")
    status = serializers.CharField(
        help_text="requested, active, paused, withdrawn, revoked, terminated, expired, "
        "rejected or superseded"
    )
    subject = serializers.UUIDField(help_text="Pseudonymous id of the person it concerns")
    scope = serializers.JSONField(
        help_text="Kind-specific scope; its JSON Schema is "
        "https://schemas.tahto.fi/consent-kinds/<kind>.v1.json"
    )
    period = _PeriodSerializer(help_text="When the consent is in force")
    requestedBy = serializers.CharField(
        allow_null=True, help_text="OID of the provider that asked for it, if one did"
    )
    notice = _NoticeRefSerializer(allow_null=True, help_text="The notice shown at grant")
    createdAt = serializers.DateTimeField(help_text="When this version was created")
    updatedAt = serializers.DateTimeField(help_text="When its state last changed")
    _links = _ConsentLinksSerializer(help_text="Related resources")


ConsentSerializer = CitizenConsentSerializer
ConsentListSerializer = inline_serializer(
    "CitizenConsentList",
    {"consents": CitizenConsentSerializer(many=True, help_text="Newest first, at most 500")},
)
FhirConsentSerializer = inline_serializer(
    "FhirConsent",
    {"resourceType": serializers.CharField(help_text="Always Consent (FHIR R4)")},
)
HistorySerializer = inline_serializer(
    "ConsentHistory",
    {
        "lineage": serializers.UUIDField(help_text="The consent's lineage"),
        "entries": inline_serializer(
            "ConsentHistoryEntry",
            {
                "entryId": serializers.IntegerField(help_text="Id of the log entry"),
                "seq": serializers.IntegerField(
                    allow_null=True,
                    help_text="Leaf index in the log; null while pending integration",
                ),
                "type": serializers.CharField(help_text="Event type, e.g. consent.withdrawn"),
                "time": serializers.DateTimeField(help_text="When it happened (UTC)"),
                "entry": serializers.CharField(help_text="The log entry, canonical JSON"),
                "leafHash": serializers.CharField(help_text="Its RFC 6962 leaf hash, base64"),
            },
            many=True,
        ),
    },
)
ReceiptListSerializer = inline_serializer(
    "ReceiptList",
    {
        "receipts": inline_serializer(
            "ReceiptSummary",
            {
                "id": serializers.UUIDField(help_text="consentReceiptID"),
                "event": serializers.CharField(help_text="The act it is a receipt for"),
                "issuedAt": serializers.DateTimeField(help_text="When it was signed"),
                "logEntry": serializers.IntegerField(help_text="Id of its log entry"),
                "jws": serializers.CharField(help_text="Compact JWS, verify with the JWKS"),
                "_links": inline_serializer("ReceiptLinks", {"download": CitizenLinkSerializer()}),
            },
            many=True,
        )
    },
)


def consent_json(consent: Consent) -> dict[str, Any]:
    base = f"/api/v1/me/consents/{consent.id}"
    return {
        "id": str(consent.id),
        "lineage": str(consent.lineage),
        "version": consent.version,
        "kind": consent.kind,
        "provision": consent.provision,
        "status": consent.status,
        "subject": str(consent.subject_id),
        "scope": consent.scope,
        "period": {
            "start": iso(consent.valid_from),
            "end": iso(consent.valid_until) if consent.valid_until else None,
        },
        "requestedBy": consent.requested_by or None,
        "notice": {"sha256": consent.notice_id} if consent.notice_id else None,
        "createdAt": iso(consent.created_at),
        "updatedAt": iso(consent.updated_at),
        "_links": {
            "self": {"href": base},
            "history": {"href": f"{base}/history"},
            "fhir": {"href": f"{base}/fhir"},
            "receipts": {"href": f"{base}/receipts"},
        },
    }


def _actor(request: Request) -> services.Actor:
    person = person_for_user(request.user)
    if person is None:
        raise not_permitted("Only citizens can manage consents.", code="not-a-citizen")
    return services.Actor.person(person.id)


def _visible_consent(request: Request, consent_id: UUID) -> Consent:
    consent = selectors.consent_visible(user=request.user, consent_id=consent_id)
    if consent is None:
        raise Http404
    return consent


class ConsentListApi(CitizenApi):
    app_scope = READ

    @extend_schema(
        summary="Consents of the signed-in person and of those they act for",
        operation_id="me_consents_list",
        parameters=[
            OpenApiParameter("kind", str, description="Only this kind"),
            OpenApiParameter("status", str, description="Only this status"),
            OpenApiParameter("subject", str, description="Only this subject's (a person id)"),
        ],
        responses={200: ConsentListSerializer, **problem_responses(401, 403)},
        tags=["citizen"],
    )
    def get(self, request: Request) -> Response:
        _actor(request)
        consents = selectors.consents_visible(user=request.user, filters=request.query_params)
        return Response({"consents": [consent_json(c) for c in consents]})

    @extend_schema(
        summary="Grant a consent (or a refusal), for oneself or on behalf of another",
        operation_id="me_consents_grant",
        request={"application/json": openapi_schema("requests/consent-grant.v1")},
        responses={201: ConsentSerializer, **problem_responses(400, 401, 403, 422)},
        tags=["citizen"],
    )
    @step_up_api
    def post(self, request: Request) -> Response:
        actor = _actor(request)
        body = request.data
        schemas.validate("requests/consent-grant.v1", body)
        period = body.get("period", {})
        consent = services.consent_grant(
            subject_id=UUID(body["subject"]) if body.get("subject") else UUID(actor.id),
            actor=actor,
            kind=body["kind"],
            scope=body["scope"],
            provision=body.get("provision", "permit"),
            valid_from=datetime_field(period.get("start"), "/period/start"),
            valid_until=datetime_field(period.get("end"), "/period/end"),
            notice_text=body["notice"]["text"],
            language=body["notice"]["language"],
        )
        return Response(consent_json(consent), status=201)


class ConsentDetailApi(CitizenApi):
    app_scope = READ

    @extend_schema(
        summary="One consent",
        operation_id="me_consents_get",
        responses={200: ConsentSerializer, **problem_responses(401, 403, 404)},
        tags=["citizen"],
    )
    def get(self, request: Request, consent_id: UUID) -> Response:
        return Response(consent_json(_visible_consent(request, consent_id)))


class ConsentChangeApi(CitizenApi):
    @extend_schema(
        summary="Change a consent: a new version replaces it",
        request={"application/json": openapi_schema("requests/consent-change.v1")},
        responses={201: ConsentSerializer, **problem_responses(400, 401, 403, 404, 409, 422)},
        tags=["citizen"],
    )
    @step_up_api
    def post(self, request: Request, consent_id: UUID) -> Response:
        consent = _visible_consent(request, consent_id)
        body = request.data
        schemas.validate("requests/consent-change.v1", body)
        new = services.consent_change(
            consent=consent,
            actor=_actor(request),
            scope=body["scope"],
            valid_until=datetime_field((body.get("period") or {}).get("end"), "/period/end"),
            notice_text=body["notice"]["text"],
            language=body["notice"]["language"],
        )
        return Response(consent_json(new), status=201)


ACTIONS = {
    "withdraw": services.consent_withdraw,
    "pause": services.consent_pause,
    "resume": services.consent_resume,
    "reject": services.consent_reject,
}


#: What a citizen app's consents:write scope covers (reject answers a request: dashboard only).
APP_ACTIONS = frozenset({"withdraw", "pause", "resume"})


class ConsentActionApi(CitizenApi):
    app_scope = WRITE

    @extend_schema(
        summary="Withdraw, pause, resume or reject a consent",
        operation_id="me_consents_act",
        request={"application/json": openapi_schema("requests/consent-action.v1")},
        responses={200: ConsentSerializer, **problem_responses(400, 401, 403, 404, 409, 422)},
        tags=["citizen"],
    )
    @step_up_api
    def post(self, request: Request, consent_id: UUID, action: str) -> Response:
        if action not in ACTIONS:
            raise Http404
        if action not in APP_ACTIONS and request.auth is not None:
            raise not_permitted("Citizen apps may pause, resume or withdraw; use the dashboard.")
        consent = _visible_consent(request, consent_id)
        body = request.data if request.data else {}
        schemas.validate("requests/consent-action.v1", body)
        updated = ACTIONS[action](
            consent=consent, actor=_actor(request), reason=body.get("reason", "")
        )
        return Response(consent_json(updated))


class ConsentApproveApi(CitizenApi):
    @extend_schema(
        summary="Approve a provider's consent request, recording the notice shown",
        request={"application/json": openapi_schema("requests/consent-approve.v1")},
        responses={200: ConsentSerializer, **problem_responses(400, 401, 403, 404, 409, 422)},
        tags=["citizen"],
    )
    @step_up_api
    def post(self, request: Request, consent_id: UUID) -> Response:
        consent = _visible_consent(request, consent_id)
        body = request.data
        schemas.validate("requests/consent-approve.v1", body)
        updated = services.consent_approve(
            consent=consent,
            actor=_actor(request),
            notice_text=body["notice"]["text"],
            language=body["notice"]["language"],
        )
        return Response(consent_json(updated))


class ConsentHistoryApi(CitizenApi):
    app_scope = READ

    @extend_schema(
        summary="Every log entry of a consent, all versions, oldest first",
        responses={200: HistorySerializer, **problem_responses(401, 403, 404)},
        tags=["citizen"],
    )
    def get(self, request: Request, consent_id: UUID) -> Response:
        consent = _visible_consent(request, consent_id)
        entries = selectors.history_entries(consent)
        return Response(
            {
                "lineage": str(consent.lineage),
                "entries": [
                    {
                        "entryId": e.id,
                        "seq": e.seq,
                        "type": e.event_type,
                        "time": iso(e.occurred_at),
                        "entry": e.entry,
                        "leafHash": b64(bytes(e.leaf_hash)),
                    }
                    for e in entries
                ],
            }
        )


class ConsentFhirApi(CitizenApi):
    app_scope = READ

    @extend_schema(
        summary="The consent as a FHIR R4 Consent resource",
        responses={
            (200, "application/fhir+json"): OpenApiResponse(
                FhirConsentSerializer, description="A FHIR R4 Consent resource"
            ),
            **problem_responses(401, 403, 404),
        },
        tags=["citizen"],
    )
    def get(self, request: Request, consent_id: UUID) -> Response:
        consent = _visible_consent(request, consent_id)
        system = f"{settings.TAHTO_PUBLIC_URL}/person-id"
        resource = fhir.consent_to_fhir(
            consent,
            patient={"identifier": {"system": system, "value": str(consent.subject_id)}},
            performer={"identifier": {"system": system, "value": str(consent.granted_by)}}
            if consent.granted_by
            else None,
        )
        return Response(resource, content_type="application/fhir+json")


class ConsentReceiptListApi(CitizenApi):
    app_scope = READ

    @extend_schema(
        summary="The signed receipts of a consent (all versions)",
        responses={200: ReceiptListSerializer, **problem_responses(401, 403, 404)},
        tags=["citizen"],
    )
    def get(self, request: Request, consent_id: UUID) -> Response:
        consent = _visible_consent(request, consent_id)
        receipts = selectors.receipts_of(consent)
        return Response(
            {
                "receipts": [
                    {
                        "id": str(r.id),
                        "event": r.event_type,
                        "issuedAt": iso(r.issued_at),
                        "logEntry": r.log_entry_id,
                        "jws": r.jws,
                        "_links": {"download": {"href": f"/api/v1/me/receipts/{r.id}.jws"}},
                    }
                    for r in receipts
                ]
            }
        )


class ReceiptDownloadApi(CitizenApi):
    app_scope = READ

    @extend_schema(
        summary="Download one signed receipt (compact JWS, application/jose)",
        responses={
            (200, "application/jose"): OpenApiResponse(
                str, description="Compact JWS over the receipt"
            ),
            **problem_responses(401, 403, 404),
        },
        tags=["citizen"],
    )
    def get(self, request: Request, receipt_id: UUID) -> HttpResponse:
        receipt = selectors.receipt_visible(user=request.user, receipt_id=receipt_id)
        if receipt is None:
            raise Http404
        response = HttpResponse(receipt.jws, content_type="application/jose")
        stamp = timezone.localtime(receipt.issued_at).strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="tahto-receipt-{stamp}.jws"'
        return response
