"""The authorization server's views: DOT's, extended for consent-bound authorization.

- `ConsentAuthorizationView`: the citizen sees who asks for what and approves or rejects;
  approving a requested consent goes through `consents.services.consent_approve`, recording
  the exact notice text shown.
- `ConsentIntrospectionView`: RFC 7662, answered only to the client the token was issued to,
  with the consent id and authorization_details; inactive as soon as the consent is not in force.
- `PushedAuthorizationView`: RFC 9126; `/o/authorize` takes only a request_uri from it.
- `DpopTokenView`: DOT's token endpoint, answering with the DPoP nonce (RFC 9449 §8).
- `ServerMetadataView`: RFC 8414, saying exactly what the server does (FAPI 2.0).

Every redirect back to the client carries `iss` (RFC 9207), errors and rejections included.
"""

import hashlib
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils import timezone
from django.utils.translation import get_language
from django.views import View
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.forms import AllowForm
from oauth2_provider.models import Application
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView, OAuthServerMetadataView, TokenView
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from consents import services
from consents.errors import ConsentError
from consents.models import Consent
from consents.states import Status
from mydata_operator.api.access import representations_of
from mydata_operator.api.dates import local_datetime
from mydata_operator.identity.models import Provider
from mydata_operator.identity.selectors import person_for_user
from mydata_operator.security.dpop import ALLOWED_ALGS, dpop_nonce
from mydata_operator.security.stepup import step_up_record, stepup_required

from . import binding, fapi, tokens
from . import services as provider_services
from .auth import ProviderPrincipal
from .authorization import ConsentDetails, DetailsError, consent_for_authorization, details_parse
from .client_keys import ClientJwtInvalid, client_assertion_verify
from .models import PendingConsentRequest
from .notice import category_names, kind_name, notice_language, notice_text, purpose_name

log = logging.getLogger("tahto.provider_api")


def approval_step_up_verify(request: HttpRequest, password: str) -> bool:
    """Take the step-up proof on the approval page itself: the citizen's password again
    (authenticate() is throttled and locked like sign-in), recorded as the shared rule's proof.
    Whether a proof is due is the one rule, `security.stepup.stepup_required`."""
    user = request.user
    if not password or not user.is_authenticated:
        return False
    again = authenticate(request, username=user.get_username(), password=password)
    if again is None or again.pk != user.pk:
        return False
    step_up_record(request)
    return True


class ConsentAllowForm(AllowForm):
    authorization_details = forms.CharField(widget=forms.HiddenInput())
    notice_sha256 = forms.CharField(widget=forms.HiddenInput())
    request_uri = forms.CharField(widget=forms.HiddenInput())
    step_up_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        label="Password",
    )


def with_iss(uri: str, issuer: str | None = None) -> str:
    """The redirect URI with exactly one `iss` (RFC 9207): the providers' issuer, or the one
    given (the citizen apps' issuer, `client_keys.app_issuer`)."""
    parts = urlparse(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    query.append(("iss", issuer or oauth2_settings.OIDC_ISS_ENDPOINT))
    return urlunparse(parts._replace(query=urlencode(query)))


def _redirect_with_error(redirect_uri: str, error: str, description: str, state: str | None) -> str:
    parts = urlparse(redirect_uri)
    query = parse_qsl(parts.query)
    query += [("error", error), ("error_description", description)]
    if state:
        query.append(("state", state))
    return with_iss(urlunparse(parts._replace(query=urlencode(query))))


def _oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def client_assertion_principal(request: HttpRequest, path: str) -> ProviderPrincipal | None:
    """The provider whose private_key_jwt assertion this form carries, or None (logged)."""
    try:
        verified = client_assertion_verify(
            assertion_type=request.POST.get("client_assertion_type"),
            assertion=request.POST.get("client_assertion"),
            client_id=request.POST.get("client_id"),
            path=path,
        )
    except ClientJwtInvalid as exc:
        log.warning("client authentication failed at %s: %s", path, exc)
        return None
    if verified.provider is None:
        return None
    return ProviderPrincipal(provider=verified.provider, application=verified.application)


def _invalid_client() -> JsonResponse:
    return _oauth_error(
        "invalid_client",
        "Client authentication failed: use private_key_jwt (client_assertion_type "
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer) with a registered key.",
        status=401,
    )


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

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        """Every authorization response (code, DOT's own errors, the citizen's reject) names
        the issuer (RFC 9207)."""
        return super().redirect(with_iss(redirect_to), application)  # type: ignore[no-any-return]

    def _front_channel_refused(self, request: HttpRequest) -> HttpResponse:
        """An authorize request without a request_uri from /o/par: refused (FAPI 2.0 §5.3.2.2).
        Redirected with the error only to a URI the client registered, else shown here."""
        description = "Push the authorization request to /o/par first and send its request_uri."
        application = Application.objects.filter(client_id=request.GET.get("client_id")).first()
        redirect_uri = request.GET.get("redirect_uri")
        log.warning("authorization refused: front-channel request without PAR")
        if application is not None and fapi.redirect_uri_registered(application, redirect_uri):
            uri = _redirect_with_error(
                str(redirect_uri), "invalid_request", description, request.GET.get("state")
            )
            return self.redirect(uri, application)
        error = {"error": "invalid_request", "description": description}
        return self.render_to_response({"error": error}, status=400)

    def _use_pushed(self, request: HttpRequest) -> HttpResponse | None:
        """Replace the query with the pushed request's parameters, or answer the refusal."""
        request_uri = request.GET.get("request_uri")
        if not request_uri:
            return self._front_channel_refused(request)
        client_id = str(request.GET.get("client_id") or "")
        try:
            params = fapi.par_open(
                request_uri=request_uri,
                client_id=client_id,
                user_id=int(request.user.pk or 0),
                at=timezone.now(),
            )
        except fapi.ParInvalid as exc:
            log.warning("authorization refused for client %s: %s", client_id, exc.description)
            error = {"error": exc.error, "description": exc.description}
            return self.render_to_response({"error": error}, status=400)
        query = QueryDict(mutable=True)
        for key, value in params.items():
            query[key] = value
        request.GET = query  # type: ignore[assignment] # the pushed parameters, read-only from here
        request.META["QUERY_STRING"] = query.urlencode()
        self._request_uri = request_uri
        return None

    def _refuse(self, exc: DetailsError, credentials: dict[str, Any], application: Any) -> Any:
        log.warning(
            "authorization refused for client %s: %s (%s)",
            credentials.get("client_id"),
            exc.error,
            exc.description,
        )
        redirect_uri = credentials.get("redirect_uri") or ""
        if not fapi.redirect_uri_registered(application, redirect_uri):
            # Never redirect to a URI the client did not register (the form can be altered).
            error = {"error": "invalid_request", "description": "Mismatching redirect URI."}
            return self.render_to_response({"error": error}, status=400)
        uri = _redirect_with_error(
            redirect_uri, exc.error, exc.description, credentials.get("state")
        )
        return self.redirect(uri, application)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if refused := self._use_pushed(request):
            return refused
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
        initial["request_uri"] = getattr(self, "_request_uri", "")
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
                valid_until=local_datetime(self._consent.valid_until)
                if self._consent.valid_until
                else "",
                categories=category_names(sorted(scope.get("dataCategories", [])), language),
                purpose=purpose_name(str(scope.get("purpose", "")), language),
                already_approved=self._consent.status == Status.ACTIVE,
                step_up_needed=stepup_required(self.request),
            )
        return context

    def _step_up_refused(self, form: ConsentAllowForm) -> HttpResponse | None:
        """Approving needs a fresh proof of identity: a stale session enters the password."""
        data = form.cleaned_data
        if not data.get("allow") or not stepup_required(self.request):
            return None
        if approval_step_up_verify(self.request, data.get("step_up_password") or ""):
            return None
        try:
            self._check(data.get("authorization_details"), data["client_id"])
        except DetailsError:
            return None  # refused the usual way below
        form.add_error("step_up_password", "Enter your password to approve.")
        log.info("authorization approval waits for step-up")
        return self.render_to_response(self.get_context_data(form=form), status=403)

    def form_valid(self, form: ConsentAllowForm) -> HttpResponse:
        data = form.cleaned_data
        if refused := self._step_up_refused(form):
            return refused
        try:
            pushed = fapi.par_complete(
                request_uri=data.get("request_uri") or "",
                client_id=data["client_id"],
                user_id=int(self.request.user.pk or 0),
                at=timezone.now(),
            )
        except fapi.ParInvalid as exc:
            error = {"error": exc.error, "description": exc.description}
            return self.render_to_response({"error": error}, status=400)
        # The answer uses the pushed parameters, never the form's copies of them.
        for key in ("redirect_uri", "state", "code_challenge", "code_challenge_method"):
            data[key] = pushed.get(key)
        data["authorization_details"] = pushed.get("authorization_details")
        data["response_type"] = pushed.get("response_type")
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


class ConsentIntrospectionView(View):
    """RFC 7662 token introspection for the client the token was issued to."""

    def post(self, request: HttpRequest) -> JsonResponse:
        principal = client_assertion_principal(request, request.path)
        if principal is None:
            log.warning("introspection refused: client not authenticated")
            return _invalid_client()
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
        issuer = oauth2_settings.OIDC_ISS_ENDPOINT
        algs = [alg for alg in ALLOWED_ALGS if alg != "Ed25519"]  # Ed25519 is EdDSA's alias
        data.update(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/o/authorize/",
                "token_endpoint": f"{issuer}/o/token/",
                "introspection_endpoint": f"{issuer}/o/introspect/",
                "revocation_endpoint": f"{issuer}/o/revoke_token/",
                "pushed_authorization_request_endpoint": f"{issuer}/o/par",
                "require_pushed_authorization_requests": True,
                "authorization_details_types_supported": [binding.AUTHORIZATION_DETAILS_TYPE],
                "code_challenge_methods_supported": ["S256"],
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "scopes_supported": list(oauth2_settings.SCOPES),
                "authorization_response_iss_parameter_supported": True,
                "dpop_signing_alg_values_supported": algs,
                "dpop_bound_access_tokens_required": True,
            }
        )
        for endpoint in ("token", "introspection", "revocation"):
            data[f"{endpoint}_endpoint_auth_methods_supported"] = ["private_key_jwt"]
            data[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] = algs
        data["service_documentation"] = f"{issuer}/api/docs/"
        out = JsonResponse(data)
        out["Access-Control-Allow-Origin"] = "*"
        return out


class PushedAuthorizationView(View):
    """RFC 9126: the client pushes its authorization request (private_key_jwt); we check it as
    the authorize endpoint would and answer a single-use request_uri bound to the client."""

    def post(self, request: HttpRequest) -> JsonResponse:
        principal = client_assertion_principal(request, request.path)
        if principal is None:
            return _invalid_client()
        client_id = principal.application.client_id
        skip = {"client_assertion", "client_assertion_type", "client_secret"}
        params = {k: str(v) for k, v in request.POST.items() if k not in skip}
        if "request_uri" in params:
            return _oauth_error(
                "invalid_request", "request_uri is not allowed in a pushed request."
            )
        if params.setdefault("client_id", client_id) != client_id:
            return _oauth_error(
                "invalid_request", "client_id differs from the authenticated client."
            )
        if params.get("code_challenge_method") != "S256":
            return _oauth_error(
                "invalid_request", "PKCE with code_challenge_method=S256 is required."
            )
        uri = f"{oauth2_settings.OIDC_ISS_ENDPOINT}/o/authorize/?{urlencode(params)}"
        try:
            get_oauthlib_core().server.validate_authorization_request(uri, "GET", None, {})
            details_parse(params.get("authorization_details"))
        except OAuth2Error as exc:
            log.warning("pushed request refused for %s: %s", client_id, exc.description)
            return _oauth_error(exc.error, exc.description or exc.error)
        except DetailsError as exc:
            log.warning("pushed request refused for %s: %s", client_id, exc.description)
            return _oauth_error(exc.error, exc.description)
        pushed = fapi.par_push(client_id=client_id, parameters=params, at=timezone.now())
        return JsonResponse(
            {"request_uri": pushed.request_uri, "expires_in": pushed.expires_in}, status=201
        )


class DpopTokenView(TokenView):
    """DOT's token endpoint (client authentication, DPoP and the consent binding are the
    validator's); every answer carries the current DPoP nonce when nonces are required."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().post(request, *args, **kwargs)
        if settings.TAHTO_DPOP_NONCE_REQUIRED:
            response["DPoP-Nonce"] = dpop_nonce()
        return response
