"""The authorization server for citizens' own apps, under /o/apps/ (apart from providers').

A citizen app (`ClientProfile.kind == citizen-app`) gets tokens for the citizen API
(/api/v1/me/...), for the citizen who signs in and approves; never consent-bound provider
tokens. The same FAPI 2.0 rules as for providers, with the same code: the request is pushed
first (RFC 9126, `fapi.par_*`), PKCE S256, every token is DPoP-bound (`security.dpop`), the
approval needs a fresh step-up (the one rule, `security.stepup.stepup_required`). A public
client (native or browser app) authenticates with nothing but PKCE and its DPoP key; a client
that registered keys must send a private_key_jwt assertion. Grants and tokens are
`security.citizen_apps`'.

Redirect URIs are where apps differ from providers: besides exact https, a native app may use
the forms of RFC 8252 (`citizen_apps.redirect_uri_registered`): its own private-use scheme
(`fi.example.app:/callback`, exact) or loopback http on 127.0.0.1 / [::1] on any port (same
path). They are checked at PAR and again when the citizen opens and answers the request (the
app's URIs may have changed since), and the code goes only to the URI the request named.

- `AppPushedAuthorizationView` (POST /o/apps/par): the app pushes its request.
- `AppAuthorizationView` (GET/POST /o/apps/authorize): the citizen sees which app asks for
  what, and approves (with step-up) or declines.
- `AppTokenView` (POST /o/apps/token): code (PKCE) or refresh token -> DPoP-bound tokens.
- `AppServerMetadataView` (GET /.well-known/oauth-authorization-server/o/apps): RFC 8414
  metadata of this server. Its issuer is `{TAHTO_PUBLIC_URL}/o/apps`, not the providers'
  issuer: the endpoints, clients, scopes and tokens are its own, and an app's library checks
  `iss` (RFC 9207) against this document's `issuer`.
"""

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from oauth2_provider.models import Application

from mydata_operator.identity.selectors import person_for_user
from mydata_operator.security import citizen_apps
from mydata_operator.security.dpop import ALLOWED_ALGS, DpopInvalid, dpop_nonce, dpop_verify
from mydata_operator.security.stepup import SESSION_KEY as STEP_UP_SESSION_KEY
from mydata_operator.security.stepup import stepup_required

from . import fapi
from .client_keys import APP_ISSUER_PATH, ClientJwtInvalid, app_issuer, client_assertion_verify
from .models import ClientKey, ClientProfile
from .oauth_views import approval_step_up_verify, with_iss

log = logging.getLogger("tahto.provider_api")

TOKEN_PATH = "/o/apps/token"  # noqa: S105 - a URL path, not a secret


def _oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


class AppRedirect(HttpResponseRedirect):
    """The answer to an app at its redirect URI, already checked against its registration: so
    its private-use scheme (RFC 8252 §7.1) is allowed here besides http(s)."""

    def __init__(self, redirect_to: str) -> None:
        self.allowed_schemes = ["https", "http", urlsplit(redirect_to).scheme]
        super().__init__(redirect_to)


def _redirect_uri_ok(application: Application, uri: Any) -> bool:
    return citizen_apps.redirect_uri_registered(application.redirect_uris.split(), uri)


def citizen_app(client_id: str | None) -> Application | None:
    """The citizen-app client with this id; None for an unknown id or a provider's client."""
    if not client_id:
        return None
    profile = (
        ClientProfile.objects.select_related("application")
        .filter(application__client_id=client_id, kind=ClientProfile.Kind.CITIZEN_APP)
        .first()
    )
    return profile.application if profile else None


def _client_authenticated(request: HttpRequest, application: Application) -> bool:
    """A public app proves nothing here (PKCE and DPoP bind its tokens); an app that
    registered keys must send a private_key_jwt assertion made with one."""
    confidential = ClientKey.objects.filter(application=application, retired_at=None).exists()
    if not confidential and not request.POST.get("client_assertion"):
        return True
    try:
        verified = client_assertion_verify(
            assertion_type=request.POST.get("client_assertion_type"),
            assertion=request.POST.get("client_assertion"),
            client_id=application.client_id,
            path=request.path,
        )
    except ClientJwtInvalid as exc:
        log.warning("citizen app authentication failed at %s: %s", request.path, exc)
        return False
    return bool(verified.application.pk == application.pk)


class AppPushedAuthorizationView(View):
    """RFC 9126 for citizen apps: checked as the authorize page would, kept one use."""

    def post(self, request: HttpRequest) -> JsonResponse:
        application = citizen_app(request.POST.get("client_id"))
        if application is None:
            return _oauth_error("invalid_client", "Not a registered citizen app.", status=401)
        if not _client_authenticated(request, application):
            return _oauth_error("invalid_client", "Client authentication failed.", status=401)
        skip = {"client_assertion", "client_assertion_type", "client_secret"}
        params = {k: str(v) for k, v in request.POST.items() if k not in skip}
        if "request_uri" in params:
            return _oauth_error(
                "invalid_request", "request_uri is not allowed in a pushed request."
            )
        if params.get("response_type") != "code":
            return _oauth_error("unsupported_response_type", "Only response_type=code.")
        if not _redirect_uri_ok(application, params.get("redirect_uri")):
            return _oauth_error(
                "invalid_request",
                "redirect_uri is not one the app registered (exact; a loopback one may differ "
                "only in its port).",
            )
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
            return _oauth_error(
                "invalid_request", "PKCE with code_challenge_method=S256 is required."
            )
        try:
            citizen_apps.scopes_parse(params.get("scope"))
        except citizen_apps.AppGrantInvalid as exc:
            return _oauth_error(exc.error, exc.description)
        pushed = fapi.par_push(
            client_id=application.client_id, parameters=params, at=timezone.now()
        )
        return JsonResponse(
            {"request_uri": pushed.request_uri, "expires_in": pushed.expires_in}, status=201
        )


SCOPE_TEXTS = {
    citizen_apps.SCOPE_READ: lambda: _(
        "See your consents, and those of the people you act for: their history and receipts"
    ),
    citizen_apps.SCOPE_WRITE: lambda: _(
        "Pause, resume and withdraw your consents (for a few minutes after you approve)"
    ),
}


@method_decorator(never_cache, name="dispatch")
class AppAuthorizationView(LoginRequiredMixin, View):
    """The citizen's consent screen for one of their own apps."""

    template_name = "provider_api/app_authorize.html"

    def _error(self, request: HttpRequest, description: str) -> HttpResponse:
        error = {"error": "invalid_request", "description": description}
        return render(request, self.template_name, {"error": error}, status=400)

    def _page(
        self, request: HttpRequest, application: Application, params: dict[str, Any], **extra: Any
    ) -> HttpResponse:
        scopes = citizen_apps.scopes_parse(params.get("scope"))
        status = extra.pop("status", 200)
        context = {
            "application": application,
            "scopes": [SCOPE_TEXTS[s]() for s in scopes],
            "step_up_needed": stepup_required(request),
            **extra,
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        application = citizen_app(request.GET.get("client_id"))
        request_uri = request.GET.get("request_uri")
        if application is None:
            return self._error(request, _("This is not a registered app."))
        if not request_uri:
            return self._error(
                request,
                "Push the authorization request to /o/apps/par first and send its request_uri.",
            )
        try:
            params = fapi.par_open(
                request_uri=request_uri,
                client_id=application.client_id,
                user_id=int(request.user.pk or 0),
                at=timezone.now(),
            )
            if not _redirect_uri_ok(application, params.get("redirect_uri")):
                return self._error(request, _("This app no longer uses that address."))
            return self._page(request, application, params, request_uri=request_uri)
        except (fapi.ParInvalid, citizen_apps.AppGrantInvalid) as exc:
            log.warning("app authorization refused for %s: %s", application.client_id, exc)
            return self._error(request, exc.description)

    def post(self, request: HttpRequest) -> HttpResponse:
        application = citizen_app(request.POST.get("client_id"))
        request_uri = request.POST.get("request_uri") or ""
        if application is None:
            return self._error(request, _("This is not a registered app."))
        allow = request.POST.get("allow") == "true"
        if (
            allow
            and stepup_required(request)
            and not approval_step_up_verify(request, request.POST.get("step_up_password") or "")
        ):
            # The request_uri stays open for this citizen's answer (par_complete not yet).
            log.info("app authorization waits for step-up")
            shown = fapi.par_shown(
                request_uri=request_uri,
                client_id=application.client_id,
                user_id=int(request.user.pk or 0),
            )
            if shown is None:
                return self._error(request, _("This request was answered already or is not yours."))
            return self._page(
                request,
                application,
                shown,
                request_uri=request_uri,
                step_up_error=_("Enter your password to approve."),
                status=403,
            )
        try:
            params = fapi.par_complete(
                request_uri=request_uri,
                client_id=application.client_id,
                user_id=int(request.user.pk or 0),
                at=timezone.now(),
            )
            scopes = citizen_apps.scopes_parse(params.get("scope"))
        except (fapi.ParInvalid, citizen_apps.AppGrantInvalid) as exc:
            return self._error(request, exc.description)
        redirect_uri = str(params["redirect_uri"])
        if not _redirect_uri_ok(application, redirect_uri):  # taken away since it was pushed
            log.warning("app authorization to an unregistered URI refused: %s", application)
            return self._error(request, _("This app no longer uses that address."))
        answer: dict[str, str] = {}
        if person_for_user(request.user) is None:
            answer = {"error": "access_denied", "error_description": "Only a citizen can."}
        elif not allow:
            answer = {"error": "access_denied", "error_description": "The citizen declined."}
        else:
            stamp = float(request.session[STEP_UP_SESSION_KEY])
            answer["code"] = citizen_apps.app_authorization_create(
                application=application,
                user=request.user,
                scopes=scopes,
                redirect_uri=redirect_uri,
                code_challenge=str(params["code_challenge"]),
                step_up_at=datetime.fromtimestamp(stamp, tz=UTC),
                at=timezone.now(),
            )
            log.info("citizen authorized app %s (%s)", application.client_id, " ".join(scopes))
        if state := params.get("state"):
            answer["state"] = str(state)
        separator = "&" if "?" in redirect_uri else "?"
        return AppRedirect(with_iss(f"{redirect_uri}{separator}{urlencode(answer)}", app_issuer()))


def _token_urls(request: HttpRequest) -> tuple[str, ...]:
    return (f"{settings.TAHTO_PUBLIC_URL}{TOKEN_PATH}", request.build_absolute_uri(request.path))


class AppTokenView(View):
    """Tokens for citizen apps: authorization_code (with PKCE) or refresh_token, DPoP-bound."""

    def post(self, request: HttpRequest) -> JsonResponse:
        response = self._answer(request)
        response["Cache-Control"] = "no-store"
        if settings.TAHTO_DPOP_NONCE_REQUIRED:
            response["DPoP-Nonce"] = dpop_nonce()
        return response

    def _answer(self, request: HttpRequest) -> JsonResponse:
        application = citizen_app(request.POST.get("client_id"))
        if application is None or not _client_authenticated(request, application):
            log.warning("app token refused: not a citizen app, or its authentication failed")
            return _oauth_error("invalid_client", "Not a registered citizen app.", status=401)
        now = timezone.now()
        try:
            jkt = dpop_verify(
                request.headers.get("DPoP"), method="POST", urls=_token_urls(request), at=now
            )
        except DpopInvalid as exc:
            log.warning("app token refused: DPoP proof (%s): %s", application.client_id, exc)
            return _oauth_error(exc.error, exc.description)
        grant_type = request.POST.get("grant_type")
        try:
            if grant_type == "authorization_code":
                token = citizen_apps.app_code_exchange(
                    application=application,
                    code=request.POST.get("code") or "",
                    redirect_uri=request.POST.get("redirect_uri") or "",
                    code_verifier=request.POST.get("code_verifier") or "",
                    jkt=jkt,
                    at=now,
                )
            elif grant_type == "refresh_token":
                token = citizen_apps.app_token_refresh(
                    application=application,
                    refresh_token=request.POST.get("refresh_token") or "",
                    jkt=jkt,
                    at=now,
                )
            else:
                return _oauth_error(
                    "unsupported_grant_type", "Use authorization_code or refresh_token."
                )
        except citizen_apps.AppGrantInvalid as exc:
            log.warning("app token refused (%s): %s", application.client_id, exc.description)
            return _oauth_error(exc.error, exc.description)
        token["iss"] = app_issuer()
        return JsonResponse(token)


class AppServerMetadataView(View):
    """RFC 8414 metadata of the citizen apps' authorization server, at the well-known URI of
    its issuer (§3.1: `/.well-known/oauth-authorization-server` inserted before the issuer's
    path `/o/apps`). Says exactly what the views above do."""

    def get(self, request: HttpRequest) -> JsonResponse:
        base = settings.TAHTO_PUBLIC_URL
        algs = [alg for alg in ALLOWED_ALGS if alg != "Ed25519"]  # Ed25519 is EdDSA's alias
        response = JsonResponse(
            {
                "issuer": app_issuer(),
                "authorization_endpoint": f"{base}{APP_ISSUER_PATH}/authorize",
                "token_endpoint": f"{base}{TOKEN_PATH}",
                "pushed_authorization_request_endpoint": f"{base}{APP_ISSUER_PATH}/par",
                "require_pushed_authorization_requests": True,
                "scopes_supported": list(citizen_apps.SCOPES),
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                # A public app (native or browser) sends only its client_id; one that
                # registered keys signs a private_key_jwt assertion (also at PAR, RFC 9126).
                "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": algs,
                "authorization_response_iss_parameter_supported": True,
                "dpop_signing_alg_values_supported": algs,
                "dpop_bound_access_tokens_required": True,
                "service_documentation": f"{base}/api/docs/",
            }
        )
        response["Access-Control-Allow-Origin"] = "*"
        return response
