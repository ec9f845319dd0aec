"""The consent decision service for providers' own systems: CDS Hooks 2.0, hook
`patient-consent-consult` (the hook HL7's consent decision services answer, after LEAP-CDS).

A provider's system (an EHR at the point of care) asks "may we, for this purpose, receive
this patient's data, and which?" without moving any data. The answer is a card whose
`extension.decision` (and `summary`) is CONSENT_PERMIT, CONSENT_DENY or NO_CONSENT, with
the obligations that say what may be shared.

- The client authenticates as CDS Hooks says ("Trusting CDS Clients"): `Authorization:
  Bearer <JWT>` signed with a key the provider's client registered, `aud` the service's
  exact URL, `iss` and `sub` the client id, a `jti` used once (`client_keys.client_jwt_verify`).
- The acting organisation (`context.actor`) must be the authenticated provider's own.
- The answer comes from the one decision point (`consents.policy.decide_and_log`, a
  provider-access flow to this provider), which logs it; the citizen sees it among their
  disclosures like any other decision. Nothing else is written (the client's `jti` is kept
  until its JWT expires, which is what refuses a replay).
- The patient is named by personal identity code; an unknown code creates no person record
  (`subject_id_for_code` gives the pseudonymous id the person will have on joining), and the
  answer for an unknown person is the answer for a known person with no consent to this
  provider: NO_CONSENT, same words, same obligations.
- Bad input (unknown hook, no patient, unknown code, malformed body) is a 400 with a
  problem+json body naming what was wrong; nothing is decided or logged for it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import schemas
from connectors.categories import categories_for_types, types_for_categories
from connectors.subjects import HETU_SYSTEM
from consents.fhir_parts import (
    ACT_REASON_SYSTEM,
    CONSENT_SCOPE_SYSTEM,
    PURPOSE_OF_USE,
    RESOURCE_TYPE_SYSTEM,
    URI_SYSTEM,
)
from consents.fhir_terminology import DATA_CATEGORY_SYSTEM
from consents.policy import Decision, DecisionRequest, Flow, Reason, decide_and_log
from mydata_operator.api.openapi import openapi_schema, problem_responses
from mydata_operator.api.problems import problem
from mydata_operator.identity.models import Provider
from mydata_operator.identity.selectors import subject_id_for_code
from schemas.hetu import is_valid_hetu

from . import binding
from .auth import ProviderPrincipal
from .client_keys import ClientJwtInvalid, client_jwt_verify

log = logging.getLogger("tahto.provider_api")

HOOK = "patient-consent-consult"
SERVICE_ID = "patient-consent-consult"
REQUEST_SCHEMA = "requests/cds-patient-consent-consult.v1"
#: Who asked, in the decision's log entry (`requestedBy`): the consult, not a data fetch.
REQUESTED_BY = "cds-hooks:" + SERVICE_ID

PERMIT, DENY, NO_CONSENT = "CONSENT_PERMIT", "CONSENT_DENY", "NO_CONSENT"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONFIDENTIALITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"

#: The consent scopes this service answers: both are provider-access questions in Tahto.
SCOPES = frozenset({"patient-privacy", "treatment"})

#: ActReason purpose of use -> Tahto purpose (the inverse of the FHIR export's mapping, so a
#: consent exported with TREAT is asked about with TREAT); ETREAT is care too.
PURPOSES: dict[str, str] = {
    **{codes[0][0]: purpose for purpose, codes in PURPOSE_OF_USE.items()},
    "ETREAT": "care",
}

SERVICE_DESCRIPTION = {
    "hook": HOOK,
    "id": SERVICE_ID,
    "title": "Tahto consent decision service",
    "description": "Answers whether the citizen's consents in Tahto permit the calling "
    "organisation to receive the patient's data for a purpose of use, and which data "
    "(CONSENT_PERMIT, CONSENT_DENY or NO_CONSENT with obligations). Every answer is logged "
    "and shown to the citizen. Authenticate with a JWT signed by your registered client key.",
    "usageRequirements": "A Tahto provider client with a registered public key; the JWT's "
    "iss and sub are the client id, aud this service's URL, jti used once.",
}


def service_url() -> str:
    """The service's exact public URL: the `aud` a client's JWT must carry."""
    return f"{settings.TAHTO_PUBLIC_URL}/cds-services/{SERVICE_ID}"


class CdsBadRequest(Exception):
    """The request is not one the service can answer; `pointer` says where (RFC 6901)."""

    def __init__(self, pointer: str, message: str, code: str = "invalid-input"):
        super().__init__(message)
        self.pointer = pointer
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Consult:
    """A parsed patient-consent-consult request."""

    hook_instance: str
    personal_identity_code: str
    purposes: tuple[str, ...]  # Tahto purpose codes, in the order asked, each once
    purpose_codes: tuple[str, ...]  # the ActReason codes as asked
    organisation_id: str
    categories: frozenset[str]  # the data categories asked about


# --- Parsing --------------------------------------------------------------------------------


def _oid(identifier: dict[str, Any]) -> str:
    value = str(identifier["value"]).strip()
    return value.removeprefix("urn:oid:")


def consult_parse(body: Any, *, provider: Provider) -> Consult:
    """Check a request body and read it into a `Consult`, or raise `CdsBadRequest` (400),
    or `exceptions.PermissionDenied` (403) when it asks on behalf of another organisation."""
    if not isinstance(body, dict):
        raise CdsBadRequest("", "The body must be a JSON object (a CDS Hooks request).")
    if body.get("hook") != HOOK and isinstance(body.get("hook"), str):
        raise CdsBadRequest(
            "/hook", f"This service answers the hook {HOOK!r} only.", code="unknown-hook"
        )
    try:
        schemas.validate(REQUEST_SCHEMA, body)
    except schemas.SchemaValidationError as exc:
        first = exc.errors[0]
        raise CdsBadRequest(first["pointer"], first["message"]) from None
    context = body["context"]
    hetus = [i["value"] for i in context["patientId"] if i["system"] == HETU_SYSTEM]
    if not hetus:
        raise CdsBadRequest(
            "/context/patientId",
            f"Name the patient by personal identity code (system {HETU_SYSTEM}).",
            code="unknown-patient-identifier",
        )
    if len(set(hetus)) > 1 or not is_valid_hetu(hetus[0]):
        raise CdsBadRequest(
            "/context/patientId",
            "The personal identity code is not valid (or two different codes were given).",
            code="invalid-patient-identifier",
        )
    for index, coding in enumerate(context.get("category") or []):
        if coding.get("system") not in (None, CONSENT_SCOPE_SYSTEM) or coding["code"] not in SCOPES:
            raise CdsBadRequest(
                f"/context/category/{index}",
                f"This service answers the consent scopes {sorted(SCOPES)} of "
                f"{CONSENT_SCOPE_SYSTEM}; research requests use /api/v1/research-requests.",
                code="unknown-category",
            )
    purposes: list[str] = []
    for index, code in enumerate(context["purposeOfUse"]):
        if code not in PURPOSES:
            raise CdsBadRequest(
                f"/context/purposeOfUse/{index}",
                f"Unknown purpose of use {code!r}; known ActReason codes: {sorted(PURPOSES)}.",
                code="unknown-purpose",
            )
        if PURPOSES[code] not in purposes:
            purposes.append(PURPOSES[code])
    for index, actor in enumerate(context["actor"]):
        if actor["system"] != URI_SYSTEM:
            raise CdsBadRequest(
                f"/context/actor/{index}/system",
                f"Name the organisation by OID with system {URI_SYSTEM}.",
                code="unknown-actor-identifier",
            )
        if _oid(actor) != provider.organisation_id:
            log.warning(
                "CDS consult refused: %s asked as organisation %r",
                provider.organisation_id,
                _oid(actor)[:128],
            )
            raise exceptions.PermissionDenied(
                "context.actor must be your own organisation: you may ask only for yourself."
            )
    types: list[str] = []
    for index, coding in enumerate(context.get("class") or []):
        known = types_for_categories(categories_for_types(None))
        if coding.get("system") not in (None, RESOURCE_TYPE_SYSTEM) or coding["code"] not in known:
            raise CdsBadRequest(
                f"/context/class/{index}",
                f"Unknown kind of data; FHIR resource types Tahto knows: {sorted(known)}.",
                code="unknown-class",
            )
        types.append(coding["code"])
    return Consult(
        hook_instance=body["hookInstance"],
        personal_identity_code=hetus[0],
        purposes=tuple(purposes),
        purpose_codes=tuple(context["purposeOfUse"]),
        organisation_id=provider.organisation_id,
        categories=categories_for_types(types or None),
    )


# --- The decision ---------------------------------------------------------------------------


def consent_consult(*, consult: Consult, provider: Provider) -> Decision:
    """Ask the one decision point for each purpose asked (usually one) and log each answer;
    one transaction. The answer is a deny if any purpose is denied, else the permit
    narrowed to the categories every purpose permits."""
    # Known or not, the person is asked about the same way: an unknown code gives the
    # pseudonymous id they will have on joining, nothing is stored but the logged decision.
    subject_id = subject_id_for_code(consult.personal_identity_code)
    recipient = binding.recipient_for(provider)
    now = timezone.now()
    decisions: list[Decision] = []
    with transaction.atomic():
        for purpose in consult.purposes:
            decisions.append(
                decide_and_log(
                    DecisionRequest(
                        subject_id=subject_id,
                        flow=Flow.PROVIDER_ACCESS,
                        recipient=recipient,
                        at=now,
                        purpose=purpose,
                        data_categories=consult.categories,
                    ),
                    requested_by=REQUESTED_BY,
                )
            )
    denied = [d for d in decisions if not d.permit]
    if denied:
        return denied[0]
    first = decisions[0]
    permitted = frozenset.intersection(*(d.permitted_categories for d in decisions))
    return Decision(**{**first.__dict__, "permitted_categories": permitted})


def _summary(decision: Decision) -> str:
    if decision.permit:
        return PERMIT
    # No consent to this provider, whether or not the person is known to Tahto: one answer.
    return NO_CONSENT if decision.reason == Reason.NO_CONSENT else DENY


_DETAIL = {
    PERMIT: "The patient's consent permits your organisation to receive the data named in "
    "the obligations, for this purpose of use; nothing else.",
    DENY: "The patient's consent does not permit this. Do not request or use the data.",
    NO_CONSENT: "There is no consent in Tahto that permits this to your organisation. "
    "Do not request or use the data without another basis in law.",
}


def _codings(categories: frozenset[str]) -> list[dict[str, str]]:
    types = [{"system": RESOURCE_TYPE_SYSTEM, "code": t} for t in types_for_categories(categories)]
    return types + [{"system": DATA_CATEGORY_SYSTEM, "code": c} for c in sorted(categories)]


def card_json(*, decision: Decision, consult: Consult) -> dict[str, Any]:
    """The CDS Hooks card of a decision: summary and extension.decision, the reason code, the
    consent it rests on (on a permit or deny by a consent of this provider), and obligations."""
    summary = _summary(decision)
    extension: dict[str, Any] = {
        "decision": summary,
        "reason": decision.reason.value if summary != NO_CONSENT else Reason.NO_CONSENT.value,
        "purposeOfUse": list(consult.purpose_codes),
    }
    if summary != NO_CONSENT and decision.consent_lineage is not None:
        extension["basedOn"] = f"Consent/{decision.consent_lineage}"
    if decision.permit:
        withheld = consult.categories - decision.permitted_categories
        extension["content"] = {
            "class": _codings(decision.permitted_categories),
            "securityLabel": [
                {"system": CONFIDENTIALITY_SYSTEM, "code": "R"},
                *(
                    {"system": ACT_REASON_SYSTEM, "code": code}
                    for code in dict.fromkeys(consult.purpose_codes)
                ),
                {"system": ACT_CODE_SYSTEM, "code": "NORDSCLCD"},
            ],
        }
        obligations: list[dict[str, Any]] = [
            {
                # Share only these kinds of data (what the consent names, narrowed to the ask).
                "id": {"system": ACT_CODE_SYSTEM, "code": "PERMIT"},
                "parameters": {"codes": _codings(decision.permitted_categories)},
            },
            {
                # No redisclosure without the patient's consent.
                "id": {"system": ACT_CODE_SYSTEM, "code": "NORDSCLCD"},
                "parameters": {},
            },
        ]
        if withheld:
            obligations.insert(
                1,
                {
                    "id": {"system": ACT_CODE_SYSTEM, "code": "REDACT"},
                    "parameters": {"codes": _codings(frozenset(withheld))},
                },
            )
        extension["obligations"] = obligations
    else:
        extension["obligations"] = []
    return {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "detail": _DETAIL[summary],
        "indicator": "info" if decision.permit else "warning",
        "source": {"label": "Tahto", "url": settings.TAHTO_PUBLIC_URL},
        "extension": extension,
    }


# --- Authentication ---------------------------------------------------------------------------


class CdsClientAuthentication(BaseAuthentication):
    """CDS Hooks 2.0 "Trusting CDS Clients": a JWT the provider's client signed with its
    registered key, `aud` this service's URL. Refusals are 401 with a problem body."""

    def authenticate(self, request: Request) -> tuple[ProviderPrincipal, None] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.NotAuthenticated(
                "Send Authorization: Bearer <JWT> signed with your registered client key."
            )
        try:
            verified = client_jwt_verify(token.strip(), audiences=(service_url(),))
        except ClientJwtInvalid as exc:
            log.warning("CDS consult refused: client JWT not valid (%s: %s)", exc.field, exc)
            raise exceptions.AuthenticationFailed(f"The JWT is refused: {exc}") from None
        provider = verified.provider
        if provider is None:
            log.warning("CDS consult refused: client %s is no provider's", verified.application)
            raise exceptions.AuthenticationFailed("This client is not a registered provider's.")
        return ProviderPrincipal(provider=provider, application=verified.application), None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="tahto-cds-services"'


class CdsClientJwtScheme(OpenApiAuthenticationExtension):
    target_class = "mydata_operator.provider_api.cds.CdsClientAuthentication"
    name = "cdsClientJwt"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "CDS Hooks client JWT: signed with the client's registered key "
            "(PS256, ES256 or EdDSA); iss and sub the client id, aud the service URL, "
            "exp at most 5 minutes after iat, a jti used once.",
        }


# --- The API ----------------------------------------------------------------------------------


_DISCOVERY_EXAMPLE = {"services": [SERVICE_DESCRIPTION]}
_CARDS_EXAMPLE = {
    "cards": [
        {
            "uuid": "5f0a3c1e-1d2b-4c7a-9f6e-2b8d7c1a0e93",
            "summary": PERMIT,
            "detail": _DETAIL[PERMIT],
            "indicator": "info",
            "source": {"label": "Tahto", "url": "https://tahto.example"},
            "extension": {
                "decision": PERMIT,
                "reason": "permitted",
                "purposeOfUse": ["TREAT"],
                "basedOn": "Consent/0b7e2f0e-6c5d-4a8b-9b0e-3f1c2d4e5a6b",
                "content": {
                    "class": [
                        {"system": RESOURCE_TYPE_SYSTEM, "code": "Condition"},
                        {"system": DATA_CATEGORY_SYSTEM, "code": "conditions"},
                    ],
                    "securityLabel": [
                        {"system": CONFIDENTIALITY_SYSTEM, "code": "R"},
                        {"system": ACT_REASON_SYSTEM, "code": "TREAT"},
                        {"system": ACT_CODE_SYSTEM, "code": "NORDSCLCD"},
                    ],
                },
                "obligations": [
                    {
                        "id": {"system": ACT_CODE_SYSTEM, "code": "PERMIT"},
                        "parameters": {
                            "codes": [
                                {"system": RESOURCE_TYPE_SYSTEM, "code": "Condition"},
                                {"system": DATA_CATEGORY_SYSTEM, "code": "conditions"},
                            ]
                        },
                    },
                    {"id": {"system": ACT_CODE_SYSTEM, "code": "NORDSCLCD"}, "parameters": {}},
                ],
            },
        }
    ]
}


class CdsDiscoveryApi(APIView):
    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="CDS Hooks discovery: the services this server offers",
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="CDS Hooks discovery response",
                examples=[OpenApiExample("discovery", value=_DISCOVERY_EXAMPLE)],
            )
        },
        tags=["provider: decision service"],
    )
    def get(self, request: Request) -> Response:
        return Response({"services": [SERVICE_DESCRIPTION]})


class CdsConsentConsultApi(APIView):
    authentication_classes = [CdsClientAuthentication]
    permission_classes = [AllowAny]  # the authentication class refuses every unauthenticated call

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("service_id") != SERVICE_ID:  # an unknown service: 404 before anything
            raise Http404
        super().initial(request, *args, **kwargs)

    @extend_schema(
        summary="May we receive this patient's data, for this purpose? (patient-consent-consult)",
        description="CDS Hooks 2.0 service call. Answers one card: CONSENT_PERMIT with the "
        "obligations (what may be shared), CONSENT_DENY, or NO_CONSENT (also for a person "
        "Tahto does not know). Every answer is logged as a decision and shown to the citizen.",
        parameters=[
            OpenApiParameter(
                "service_id",
                str,
                OpenApiParameter.PATH,
                enum=[SERVICE_ID],
                description="The CDS service's id, from discovery",
            )
        ],
        request={"application/json": openapi_schema(REQUEST_SCHEMA)},
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="CDS Hooks response: one card",
                examples=[OpenApiExample("permit", value=_CARDS_EXAMPLE)],
            ),
            **problem_responses(400, 401, 403, 404),
        },
        tags=["provider: decision service"],
    )
    def post(self, request: Request, service_id: str) -> Response:
        assert isinstance(request.user, ProviderPrincipal)
        provider = request.user.provider
        try:
            consult = consult_parse(request.data, provider=provider)
        except CdsBadRequest as bad:
            log.warning("CDS consult refused (%s): %s", bad.code, bad.message)
            return problem(
                400,
                bad.code,
                "The request is not a patient-consent-consult this service can answer.",
                bad.message,
                errors=[{"pointer": bad.pointer, "message": bad.message}],
            )
        decision = consent_consult(consult=consult, provider=provider)
        return Response({"cards": [card_json(decision=decision, consult=consult)]})
