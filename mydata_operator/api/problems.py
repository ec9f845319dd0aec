"""Every API error as RFC 9457 problem+json, naming what was wrong and where."""

import re
from typing import Any

from django.http import Http404, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
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


# --- One language per answer ------------------------------------------------------------------
# The answer's language is the request's (`mydata_operator.api.language`). English answers keep
# every precise message; Finnish and Swedish ones say the same in their words: titles by code,
# field errors by their JSON Schema keyword (the pointer and keyword stay for programs).

#: Titles of service errors (ConsentError codes) a person can act on.
CONSENT_ERROR_TITLES: dict[str, Promise] = {
    "no-mandate": _("You may not act on behalf of this person for this kind of consent."),
    "not-permitted": _("Not permitted."),
    "request-expired": _("The request has expired."),
    "period-ended": _("The requested period has already ended."),
    "transition-forbidden": _("This consent can no longer be changed in this way."),
    "invalid-input": _("The request body is not valid."),
    "conflict": _("The consent changed in the meantime; read it again."),
}
GENERIC_TITLE = _("The request could not be carried out.")
NOT_FOUND_TITLE = _("Not found.")
INVALID_FILTER_TITLE = _("The filter is not valid.")

#: Titles of the API's own exceptions by their code, before the titles by status below.
EXCEPTION_TITLES: dict[str, Promise] = {
    "invalid_filter": INVALID_FILTER_TITLE,
}

#: A field error in words, by the JSON Schema keyword that failed.
KEYWORD_MESSAGES: dict[str, Promise] = {
    "required": _("%(field)s is missing."),
    "additionalProperties": _("%(field)s is not a known field."),
    "unevaluatedProperties": _("%(field)s is not a known field."),
    "type": _("%(field)s has the wrong type of value."),
    "enum": _("%(field)s has a value that is not allowed."),
    "const": _("%(field)s has a value that is not allowed."),
    "format": _("%(field)s is not in the right format."),
    "pattern": _("%(field)s is not in the right format."),
    "minLength": _("%(field)s is too short."),
    "maxLength": _("%(field)s is too long."),
    "minItems": _("%(field)s has too few items."),
    "maxItems": _("%(field)s has too many items."),
    "json": _("The body is not valid JSON."),
}
FIELD_MESSAGE = _("%(field)s is not valid.")


def _english() -> bool:
    return (get_language() or "en")[:2] == "en"


def localized_errors(errors: list[Any] | None) -> list[Any] | None:
    """Field errors in the answer's language: English keeps the precise message; others say
    it by keyword, naming the field by its pointer."""
    if not errors or _english():
        return errors
    out = []
    for error in errors:
        if not isinstance(error, dict):
            out.append(error)
            continue
        field = str(error.get("pointer") or "/").lstrip("/").replace("/", ".") or "body"
        template = KEYWORD_MESSAGES.get(str(error.get("keyword") or ""), FIELD_MESSAGE)
        out.append({**error, "message": str(template) % {"field": field}})
    return out


def _consent_problem(exc: ConsentError) -> Response:
    errors = [e.as_dict() for e in exc.errors] or None
    if _english():
        return problem(exc.status, exc.code, exc.message, errors=errors)
    title = CONSENT_ERROR_TITLES.get(exc.code, GENERIC_TITLE)
    return problem(exc.status, exc.code, str(title), errors=localized_errors(errors))


_JSON_AT = re.compile(r"line (\d+), column (\d+)")


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ConsentError):
        return _consent_problem(exc)
    if isinstance(exc, schemas.SchemaValidationError):
        return problem(
            422,
            "invalid-input",
            str(_("The request body is not valid.")),
            errors=localized_errors(list(exc.errors)),
        )
    if isinstance(exc, ProofError):
        detail = str(exc) if _english() else ""
        return problem(400, "invalid-proof-request", str(_("The proof cannot be made.")), detail)
    if isinstance(exc, Http404):
        return problem(
            404,
            "not-found",
            str(NOT_FOUND_TITLE),
            str(_("No such resource, or not yours to see.")),
        )
    if isinstance(exc, exceptions.ParseError) and not _english():
        where = _JSON_AT.search(str(exc.detail))
        detail = str(_("The body is not valid JSON."))
        if where:
            detail += " " + str(_("(line %(line)s, column %(column)s)")) % {
                "line": where.group(1),
                "column": where.group(2),
            }
        return problem(400, "parse-error", str(_("The request failed.")), detail)
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
        title = EXCEPTION_TITLES.get(code) or {
            status.HTTP_401_UNAUTHORIZED: _("Authentication is required."),
            status.HTTP_403_FORBIDDEN: _("Not permitted."),
            status.HTTP_405_METHOD_NOT_ALLOWED: _("Method not allowed."),
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: _("Unsupported media type."),
            status.HTTP_429_TOO_MANY_REQUESTS: _("Too many requests."),
        }.get(response.status_code, _("The request failed."))
        rendered = problem(
            response.status_code,
            code.replace("_", "-"),
            str(title),
            str(detail),  # REST framework's own text, in the same (active) language
            localized_errors(errors),
        )
        if challenge := response.get("WWW-Authenticate"):  # keep a 401's challenge
            rendered["WWW-Authenticate"] = challenge
        if retry_after := response.get("Retry-After"):  # keep a 429's Retry-After
            rendered["Retry-After"] = retry_after
        return rendered
    return response
