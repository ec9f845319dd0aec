"""The authorization server's views: DOT's, extended for consent-bound authorization.

- `ConsentAuthorizationView`: the citizen sees who asks for what and approves or rejects;
  approving a requested consent goes through `consents.services.consent_approve`, recording
  the exact notice text shown.
- `ConsentIntrospectionView`: RFC 7662, answered only to the client the token was issued to,
  with the consent id and authorization_details; inactive as soon as the consent is not in force.
- `ServerMetadataView`: RFC 8414, plus the RFC 9396 types supported.
"""

import hashlib
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import get_language
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.forms import AllowForm
from oauth2_provider.models import Application
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView, OAuthServerMetadataView

from consents import services
from consents.errors import ConsentError
from consents.models import Consent
from consents.states import Status
from mydata_operator.api.access import representations_of
from mydata_operator.identity.models import Provider
from mydata_operator.identity.selectors import person_for_user

from . import binding, tokens
from . import services as provider_services
from .auth import basic_credentials, client_authenticate
from .authorization import ConsentDetails, DetailsError, consent_for_authorization, details_parse
from .models import PendingConsentRequest
from .notice import category_names, kind_name, notice_language, notice_text, purpose_name

log = logging.getLogger("tahto.provider_api")


class ConsentAllowForm(AllowForm):
    authorization_details = forms.CharField(widget=forms.HiddenInput())
    notice_sha256 = forms.CharField(widget=forms.HiddenInput())


def _redirect_with_error(redirect_uri: str, error: str, description: str, state: str | None) -> str:
    parts = urlparse(redirect_uri)
    query = parse_qsl(parts.query)
    query += [("error", error), ("error_description", description)]
    if state:
        query.append(("state", state))
    query.append(("iss", oauth2_settings.OIDC_ISS_ENDPOINT))
    return urlunparse(parts._replace(query=urlencode(query)))


class ConsentAuthorizationView(AuthorizationView):
    template_name = "provider_api/authorize.html"
    form_class = ConsentAllowForm

    _details: ConsentDetails
    _consent: Consent
    _provider: Provider
    _pending: PendingConsentRequest | None = None
    _approved: dict[str, Any] | None = None

    def _language(self) -> str:
        person = person_for_user(self.request.user)
        return notice_language(get_language() or (person.language if person else "fi"))

    def _check(self, raw: str | None, client_id: str) -> None:
        provider = Provider.objects.filter(application__client_id=client_id).first()
        if provider is None:
            raise DetailsError("This client is not a registered provider.", "unauthorized_client")
        self._provider = provider
        self._details = details_parse(raw)
        target = consent_for_authorization(
            details=self._details,
            provider=provider,
            representations=representations_of(self.request.user),
            at=timezone.now(),
        )
        self._consent, self._pending = target.consent, target.pending

    def _refuse(self, exc: DetailsError, credentials: dict[str, Any], application: Any) -> Any:
        log.warning(
            "authorization refused for client %s: %s (%s)",
            credentials.get("client_id"),
            exc.error,
            exc.description,
        )
        redirect_uri = credentials.get("redirect_uri") or ""
        if not application.redirect_uri_allowed(redirect_uri):
            # Never redirect to a URI the client did not register (the form can be altered).
            error = {"error": "invalid_request", "description": "Mismatching redirect URI."}
            return self.render_to_response({"error": error}, status=400)
        uri = _redirect_with_error(
            redirect_uri, exc.error, exc.description, credentials.get("state")
        )
        return self.redirect(uri, application)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            log.warning("authorization refused: %s", error.oauthlib_error.description)
            return self.error_response(error, application=None)
        application = Application.objects.get(client_id=credentials["client_id"])
        if credentials.get("code_challenge_method") != "S256":
            exc = DetailsError(
                "PKCE with code_challenge_method=S256 is required.", "invalid_request"
            )
            return self._refuse(exc, credentials, application)
        try:
            self._check(request.GET.get("authorization_details"), credentials["client_id"])
        except DetailsError as exc:
            return self._refuse(exc, credentials, application)
        return super().get(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        if not hasattr(self, "_details"):  # a POST: the form carries them
            return initial
        initial["authorization_details"] = json.dumps(self._details.details)
        initial["notice_sha256"] = hashlib.sha256(self._notice().encode()).hexdigest()
        return initial

    def _notice(self) -> str:
        return notice_text(
            consent=self._consent, provider=self._provider, language=self._language()
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if hasattr(self, "_consent"):
            scope = self._consent.scope
            language = self._language()
            context.update(
                consent=self._consent,
                provider=self._provider,
                provider_kind=kind_name(self._provider.kind, language),
                notice=self._notice(),
                categories=category_names(sorted(scope.get("dataCategories", [])), language),
                purpose=purpose_name(str(scope.get("purpose", "")), language),
                already_approved=self._consent.status == Status.ACTIVE,
            )
        return context

    def form_valid(self, form: ConsentAllowForm) -> HttpResponse:
        data = form.cleaned_data
        credentials = {"client_id": data["client_id"], "redirect_uri": data["redirect_uri"]}
        credentials["state"] = data.get("state")
        application = Application.objects.get(client_id=data["client_id"])
        person = person_for_user(self.request.user)
        try:
            if person is None:
                raise DetailsError("Only a citizen can authorize.", "access_denied")
            self._check(data.get("authorization_details"), data["client_id"])
            if data.get("code_challenge_method") != "S256":
                raise DetailsError(
                    "PKCE with code_challenge_method=S256 is required.", "invalid_request"
                )
            shown = self._notice()
            if hashlib.sha256(shown.encode()).hexdigest() != data.get("notice_sha256"):
                raise DetailsError(
                    "The consent changed while it was shown; ask again.", "access_denied"
                )
            actor = services.Actor.person(person.id)
            consent = self._consent
            if not data.get("allow"):
                if consent.status == Status.REQUESTED and self._pending is None:
                    services.consent_reject(
                        consent=consent, actor=actor, reason="rejected at authorize"
                    )
                log.info("citizen declined authorization of consent %s", consent.lineage)
                return super().form_valid(form)  # DOT answers access_denied
            if self._pending is not None:
                consent = provider_services.pending_request_answer(
                    pending=self._pending,
                    person=person,
                    notice_text=shown,
                    language=self._language(),
                )
            elif consent.status == Status.REQUESTED:
                consent = services.consent_approve(
                    consent=consent, actor=actor, notice_text=shown, language=self._language()
                )
        except DetailsError as exc:
            return self._refuse(exc, credentials, application)
        except ConsentError as exc:
            return self._refuse(
                DetailsError(exc.message, "access_denied"), credentials, application
            )
        self._approved = {
            "lineage": str(consent.lineage),
            "version": consent.version,
            "subject_id": str(consent.subject_id),
            "organisation_id": self._provider.organisation_id,
            "authorized_by": str(person.id),
            # The granted details name the consent itself (for a pending request: the new one).
            "authorization_details": [
                {**self._details.details[0], "consentId": str(consent.lineage)}
            ],
        }
        return super().form_valid(form)

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        if self._approved is not None:
            credentials = {**credentials, "tahto_consent": self._approved}
        return super().create_authorization_response(request, scopes, credentials, allow)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(never_cache, name="dispatch")
class ConsentIntrospectionView(View):
    """RFC 7662 token introspection for the client the token was issued to."""

    def post(self, request: HttpRequest) -> JsonResponse:
        creds = basic_credentials(request.META.get("HTTP_AUTHORIZATION", ""))
        if creds is None and request.POST.get("client_id"):
            creds = (request.POST["client_id"], request.POST.get("client_secret", ""))
        principal = client_authenticate(*creds) if creds else None
        if principal is None:
            log.warning("introspection refused: client not authenticated")
            response = JsonResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed."},
                status=401,
            )
            response["WWW-Authenticate"] = 'Basic realm="tahto"'
            return response
        value = request.POST.get("token")
        if not value:
            return JsonResponse(
                {
                    "error": "invalid_request",
                    "error_description": "The token parameter is missing.",
                },
                status=400,
            )
        answer = tokens.token_introspect(
            value=value, principal=principal, issuer=oauth2_settings.OIDC_ISS_ENDPOINT
        )
        return JsonResponse(answer)


class ServerMetadataView(OAuthServerMetadataView):
    """RFC 8414 metadata, with what DOT does not know about: RAR types, PKCE S256 only."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data.update(
            {
                "authorization_details_types_supported": [binding.AUTHORIZATION_DETAILS_TYPE],
                "code_challenge_methods_supported": ["S256"],
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "require_pushed_authorization_requests": False,
                "service_documentation": f"{oauth2_settings.OIDC_ISS_ENDPOINT}/api/docs/",
            }
        )
        out = JsonResponse(data)
        out["Access-Control-Allow-Origin"] = "*"
        return out
