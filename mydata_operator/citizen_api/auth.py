"""Citizens' own apps on the citizen API: `Authorization: DPoP <token>` with a DPoP proof.

Only citizen-app tokens (`mydata_operator.security.citizen_apps`) are looked up here; a
provider's consent-bound token is not in that table and is refused like any unknown token.
The token acts as the citizen who authorized the app, so acting on behalf of another person
follows the same rule as a signed-in session (`mydata_operator.api.access`).
"""

import logging
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from mydata_operator.security.citizen_apps import SCOPE_READ, SCOPE_WRITE, AppAccess, app_access_for
from mydata_operator.security.dpop import DpopInvalid, dpop_request_jkt

log = logging.getLogger("tahto.citizen_api")


class CitizenAppTokenAuthentication(BaseAuthentication):
    """A citizen app's DPoP-bound access token (RFC 9449 §7). No header: not this scheme
    (a signed-in session may still authenticate)."""

    def _refuse(self, request: Request, detail: str, error: str = "invalid_token") -> None:
        log.warning("citizen API refused an app token: %s (%s)", detail, request.path)
        setattr(request._request, "tahto_dpop_error", error)  # noqa: B010 - read by the header
        raise exceptions.AuthenticationFailed(detail)

    def authenticate(self, request: Request) -> tuple[Any, AppAccess] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "dpop" or not value:
            self._refuse(
                request,
                "Send Authorization: DPoP <access token> with a DPoP proof; "
                "app tokens are DPoP-bound.",
                "invalid_request",
            )
        now = timezone.now()
        access = app_access_for(value, at=now)
        if access is None:
            self._refuse(
                request,
                "The access token is not valid: expired, revoked, or not a citizen-app token.",
            )
        assert access is not None
        try:
            jkt = dpop_request_jkt(request._request, access_token=value, at=now)
        except DpopInvalid as exc:
            self._refuse(request, f"DPoP proof refused: {exc}", exc.error)
            raise  # unreachable: _refuse raises
        if jkt != access.jkt:
            self._refuse(request, "The DPoP proof is made with another key than the token's.")
        return access.user, access

    def authenticate_header(self, request: Request) -> str | None:
        if not request.META.get("HTTP_AUTHORIZATION"):
            return None  # no credential sent: 403 as before, not a DPoP challenge
        error = getattr(request._request, "tahto_dpop_error", "invalid_token")
        return f'DPoP error="{error}", algs="PS256 ES256 EdDSA"'


class AppScopeAllows(BasePermission):
    """A citizen-app token may do what its scopes say; a session is not limited here.

    Views say what they need with `app_scope` (None: not open to apps). A write also needs
    the step-up the token was granted after to be fresh (`AppAccess.may_write`)."""

    message = "This app's authorization does not cover this."

    def has_permission(self, request: Request, view: Any) -> bool:
        access = request.auth
        if not isinstance(access, AppAccess):
            return True
        needed = getattr(view, "app_scope", {}).get(request.method or "GET")
        if needed is None:
            self.message = "Citizen apps cannot do this; use the dashboard."
            return False
        if needed not in access.scopes:
            self.message = f"The app's authorization lacks the {needed} scope."
            return False
        if needed == SCOPE_WRITE and not access.may_write(timezone.now()):
            self.message = (
                "A change needs a fresh step-up: authorize the app again "
                "(its write access lasts the step-up window)."
            )
            return False
        return True


#: What each kind of citizen API call needs from an app token.
READ = {"GET": SCOPE_READ}
WRITE = {"POST": SCOPE_WRITE}


class CitizenAppTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mydata_operator.citizen_api.auth.CitizenAppTokenAuthentication"
    name = "citizenAppToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "dpop",
            "description": "Authorization: DPoP <access token from /o/apps/token> with a "
            "DPoP proof header (RFC 9449): a citizen's own app, scopes consents:read and "
            "consents:write (pause, resume, withdraw; within the step-up window).",
        }
