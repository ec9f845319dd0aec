"""Every API error as RFC 9457 problem+json, naming what was wrong and where."""

from typing import Any

from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

import schemas
from consents.errors import ConsentError
from consents.log import ProofError

PROBLEM = "application/problem+json"
PROBLEM_BASE = "https://schemas.tahto.fi/problems/"


def problem_body(
    status_code: int,
    code: str,
    title: str,
    detail: str = "",
    errors: list[Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The one RFC 9457 problem object: type, title, status, our stable code, the detail,
    field errors, and any extension members (e.g. the policy's reason and consentId)."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status_code,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem(
    status_code: int,
    code: str,
    title: str,
    detail: str = "",
    errors: list[Any] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json answer of a REST framework view."""
    body = problem_body(status_code, code, title, detail, errors, **extra)
    return Response(body, status=status_code, content_type=PROBLEM)


def problem_response(
    status_code: int,
    code: str,
    title: str,
    detail: str = "",
    errors: list[Any] | None = None,
    **extra: Any,
) -> JsonResponse:
    """A problem+json answer of a plain Django view."""
    body = problem_body(status_code, code, title, detail, errors, **extra)
    return JsonResponse(body, status=status_code, content_type=PROBLEM)


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ConsentError):
        return problem(
            exc.status, exc.code, exc.message, errors=[e.as_dict() for e in exc.errors] or None
        )
    if isinstance(exc, schemas.SchemaValidationError):
        return problem(
            422, "invalid-input", "The request body is not valid.", errors=list(exc.errors)
        )
    if isinstance(exc, ProofError):
        return problem(400, "invalid-proof-request", "The proof cannot be made.", str(exc))
    if isinstance(exc, Http404):
        return problem(404, "not-found", "Not found.", "No such resource, or not yours to see.")
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        code = exc.default_code if isinstance(exc.default_code, str) else "error"
        detail = exc.detail if isinstance(exc.detail, str) else ""
        errors = None
        if isinstance(exc.detail, dict):
            errors = [
                {
                    "pointer": f"/{key}",
                    "message": " ".join(map(str, value)) if isinstance(value, list) else str(value),
                }
                for key, value in exc.detail.items()
            ]
        title = {
            status.HTTP_401_UNAUTHORIZED: "Authentication is required.",
            status.HTTP_403_FORBIDDEN: "Not permitted.",
            status.HTTP_405_METHOD_NOT_ALLOWED: "Method not allowed.",
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "Unsupported media type.",
        }.get(response.status_code, "The request failed.")
        rendered = problem(response.status_code, code.replace("_", "-"), title, str(detail), errors)
        if challenge := response.get("WWW-Authenticate"):  # keep a 401's challenge
            rendered["WWW-Authenticate"] = challenge
        return rendered
    return response
