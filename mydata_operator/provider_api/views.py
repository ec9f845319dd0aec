"""The provider API: consent requests, consent-bound data access, webhooks.

Thin views: authenticate the provider, parse, call one service or selector, render. A
consent request of another provider is a 404; every refusal is logged and answered as
RFC 9457 problem+json.
"""

import logging
from typing import Any, cast
from uuid import UUID

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from oauth2_provider.models import AccessToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connectors.models import Endpoint
from consents import services as consent_services
from consents.errors import ConsentError
from consents.log import iso
from consents.models import Consent
from mydata_operator.api.openapi import openapi_schema, problem_responses
from mydata_operator.api.problems import problem
from mydata_operator.security.throttle import ConsentRequestThrottle

from . import binding, selectors, services
from .auth import (
    ClientCredentialsAuthentication,
    ConsentTokenAuthentication,
    HasConsentToken,
    IsProvider,
    ProviderPrincipal,
    dpop_nonce_header,
)
from .models import PendingConsentRequest
from .serializers import (
    BundleSerializer,
    ConsentRequestSerializer,
    ConsentStatusSerializer,
    WebhookBodySerializer,
    WebhookListSerializer,
    WebhookSerializer,
)

log = logging.getLogger("tahto.provider_api")

FHIR_JSON = "application/fhir+json"

#: FHIR resource types a provider may search for (the connector narrows them to the consent).
RESOURCE_TYPES = (
    "Patient",
    "Observation",
    "Condition",
    "MedicationStatement",
    "Immunization",
    "QuestionnaireResponse",
)


class ProviderApi(APIView):
    authentication_classes = [ClientCredentialsAuthentication]
    permission_classes = [IsProvider]

    def principal(self, request: Request) -> ProviderPrincipal:
        assert isinstance(request.user, ProviderPrincipal)
        return request.user


def _request_json(target: Any, *, client_id: str) -> dict[str, Any]:
    if isinstance(target, PendingConsentRequest):
        return selectors.pending_request_json(target, client_id=client_id, at=timezone.now())
    return selectors.consent_request_json(target, client_id=client_id, at=timezone.now())


class ConsentRequestCreateApi(ProviderApi):
    throttle_classes = [ConsentRequestThrottle]  # per provider, TAHTO_CONSENT_REQUEST_RATE

    @extend_schema(
        summary="Ask a citizen for a consent (NextGenPSD2 POST /consents)",
        description="Name the citizen by subject.personalIdentityCode, or leave subject out "
        "(data-access kinds only): then whoever authorizes it becomes its subject, and the "
        "token response names the consent it became.",
        request={"application/json": openapi_schema("requests/consent-request.v1")},
        responses={
            201: ConsentRequestSerializer,
            **problem_responses(400, 401, 403, 413, 422, 429),
        },
        tags=["provider: consents"],
    )
    def post(self, request: Request) -> Response:
        principal = self.principal(request)
        target = services.provider_consent_request(provider=principal.provider, body=request.data)
        body = _request_json(target, client_id=principal.application.client_id)
        return Response(body, status=201, headers={"Location": body["_links"]["self"]["href"]})


class ConsentRequestDetailApi(ProviderApi):
    def _target(self, request: Request, consent_id: UUID) -> Consent | PendingConsentRequest:
        org = self.principal(request).organisation_id
        consent = selectors.consent_request_for_provider(consent_id=consent_id, organisation_id=org)
        if consent is not None:
            return consent
        pending = selectors.pending_for_provider(request_id=consent_id, organisation_id=org)
        if pending is not None and pending.consent_lineage is not None:
            answered = binding.consent_current(pending.consent_lineage)
            if answered is not None:
                return answered
        if pending is not None:
            return pending
        log.warning("consent request %s refused to %s: not theirs or unknown", consent_id, org)
        raise Http404

    @extend_schema(
        summary="A consent request and its status",
        responses={200: ConsentRequestSerializer, **problem_responses(401, 403, 404)},
        tags=["provider: consents"],
    )
    def get(self, request: Request, consent_id: UUID) -> Response:
        client_id = self.principal(request).application.client_id
        return Response(_request_json(self._target(request, consent_id), client_id=client_id))

    @extend_schema(
        summary="End the consent (NextGenPSD2 DELETE /consents: terminatedByProvider)",
        responses={204: None, **problem_responses(401, 403, 404, 409)},
        tags=["provider: consents"],
    )
    def delete(self, request: Request, consent_id: UUID) -> Response:
        target = self._target(request, consent_id)
        if isinstance(target, PendingConsentRequest):
            services.pending_request_terminate(pending=target)
            return Response(status=204)
        consent_services.consent_terminate(
            consent=target,
            requester=self.principal(request).organisation_id,
            reason="terminated by the provider through the API",
        )
        return Response(status=204)


class ConsentRequestStatusApi(ConsentRequestDetailApi):
    @extend_schema(
        summary="The status of a consent request",
        responses={200: ConsentStatusSerializer, **problem_responses(401, 403, 404)},
        tags=["provider: consents"],
    )
    def get(self, request: Request, consent_id: UUID) -> Response:
        target = self._target(request, consent_id)
        now = timezone.now()
        if isinstance(target, PendingConsentRequest):
            return Response({"consentStatus": selectors.pending_status(target, now)})
        return Response({"consentStatus": selectors.consent_status(target, now)})

    @extend_schema(exclude=True)
    def delete(self, request: Request, consent_id: UUID) -> Response:
        raise Http404


class DataSearchApi(APIView):
    authentication_classes = [ConsentTokenAuthentication]
    permission_classes = [HasConsentToken]

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        """Every answer carries the DPoP nonce to use next, when nonces are required."""
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in dpop_nonce_header().items():
            response[name] = value
        return response

    @extend_schema(
        summary="The citizen's data of one FHIR resource type, as the token's consent permits",
        parameters=[
            OpenApiParameter(
                "resource_type",
                str,
                OpenApiParameter.PATH,
                enum=list(RESOURCE_TYPES),
                description="FHIR R4 resource type",
            ),
            OpenApiParameter(
                "Consent-ID",
                OpenApiTypes.UUID,
                OpenApiParameter.HEADER,
                required=False,
                description="The consent id (NextGenPSD2); must be the token's consent",
            ),
        ],
        responses={
            (200, FHIR_JSON): OpenApiResponse(BundleSerializer, description="searchset Bundle"),
            **problem_responses(401, 403, 404, 502),
        },
        tags=["provider: data"],
    )
    def get(self, request: Request, resource_type: str) -> Response:
        if resource_type not in RESOURCE_TYPES:
            raise Http404
        try:
            bundle = services.data_search(
                token=cast(AccessToken, request.auth),
                resource_type=resource_type,
                consent_id=request.headers.get("Consent-ID"),
            )
        except services.DataRefused as refused:
            log.warning("data access refused (%s): %s", refused.code, refused.detail)
            return problem(
                refused.status, refused.code, refused.title, refused.detail, None, **refused.extra
            )
        return Response(bundle, content_type=FHIR_JSON)


def _webhook_json(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": str(endpoint.id),
        "url": endpoint.url,
        "active": endpoint.active,
        "createdAt": iso(endpoint.created_at),
    }


class WebhookListApi(ProviderApi):
    @extend_schema(
        summary="Your webhooks for consent change notifications",
        responses={200: WebhookListSerializer, **problem_responses(401, 403)},
        tags=["provider: webhooks"],
    )
    def get(self, request: Request) -> Response:
        qs = selectors.webhooks_for(organisation_id=self.principal(request).organisation_id)
        return Response({"webhooks": [_webhook_json(e) for e in qs]})

    @extend_schema(
        summary="Register a webhook (signed notifications, never health data)",
        request=WebhookBodySerializer,
        responses={201: WebhookSerializer, **problem_responses(400, 401, 403, 422)},
        tags=["provider: webhooks"],
    )
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            raise ConsentError(
                code="invalid-input",
                message='Give the webhook as {"url": "https://..."}.',
                status=422,
            )
        endpoint = services.webhook_register(
            provider=self.principal(request).provider, url=body["url"]
        )
        return Response(_webhook_json(endpoint), status=201)


class WebhookDetailApi(ProviderApi):
    @extend_schema(
        summary="Remove a webhook",
        responses={204: None, **problem_responses(401, 403, 404)},
        tags=["provider: webhooks"],
    )
    def delete(self, request: Request, webhook_id: UUID) -> Response:
        endpoint = selectors.webhook_for(
            webhook_id=webhook_id, organisation_id=self.principal(request).organisation_id
        )
        if endpoint is None:
            raise Http404
        services.webhook_delete(provider=self.principal(request).provider, endpoint=endpoint)
        return Response(status=204)
