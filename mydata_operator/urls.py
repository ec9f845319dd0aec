from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mydata_operator.log_api.apis import jwks_view
from mydata_operator.provider_api.oauth_views import ServerMetadataView
from mydata_operator.views import healthz, home

urlpatterns = [
    path("", home, name="home"),
    path("", include("mydata_operator.dashboard.urls")),
    path("regulator/", include("mydata_operator.regulator.urls")),
    path("healthz", healthz, name="healthz"),
    path(".well-known/jwks.json", jwks_view, name="jwks"),
    path(
        ".well-known/oauth-authorization-server",
        ServerMetadataView.as_view(),
        name="oauth-authorization-server",
    ),
    path("o/", include("mydata_operator.provider_api.oauth_urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("mydata_operator.log_api.urls")),
    path("api/v1/", include("mydata_operator.citizen_api.urls")),
    path("api/v1/", include("mydata_operator.provider_api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler404 = "mydata_operator.views.not_found"
