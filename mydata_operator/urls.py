from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from mydata_operator.log_api.apis import jwks_view
from mydata_operator.provider_api.app_oauth_views import AppServerMetadataView
from mydata_operator.provider_api.cds import CdsConsentConsultApi, CdsDiscoveryApi
from mydata_operator.provider_api.oauth_views import ServerMetadataView
from mydata_operator.security.throttle import ThrottledAuthenticationForm
from mydata_operator.views import healthz, home

urlpatterns = [
    # Machine endpoints first: the resolver tries patterns in order, and these are the ones
    # called thousands of times a second (none of the pages below starts with these paths).
    path("healthz", healthz, name="healthz"),
    path(".well-known/jwks.json", jwks_view, name="jwks"),
    path(
        ".well-known/oauth-authorization-server",
        ServerMetadataView.as_view(),
        name="oauth-authorization-server",
    ),
    # The citizen apps' own authorization server: issuer {public URL}/o/apps (RFC 8414 §3.1).
    path(
        ".well-known/oauth-authorization-server/o/apps",
        AppServerMetadataView.as_view(),
        name="oauth-authorization-server-apps",
    ),
    path("o/", include("mydata_operator.provider_api.oauth_urls")),
    path("api/v1/", include("mydata_operator.log_api.urls")),
    path("api/v1/", include("mydata_operator.citizen_api.urls")),
    path("api/v1/", include("mydata_operator.provider_api.urls")),
    # CDS Hooks services live at {base}/cds-services (the spec fixes the path).
    path("cds-services", CdsDiscoveryApi.as_view(), name="cds-services"),
    path("cds-services/<str:service_id>", CdsConsentConsultApi.as_view(), name="cds-service"),
    path("", home, name="home"),
    path("", include("mydata_operator.dashboard.urls")),
    path("regulator/", include("mydata_operator.regulator.urls")),
    path("admin/", admin.site.urls),
    # Sign-in with the lockout message (mydata_operator.security.throttle); the rest as Django's.
    path(
        "accounts/login/",
        LoginView.as_view(authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script as a file: no inline script under the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

handler404 = "mydata_operator.views.not_found"
