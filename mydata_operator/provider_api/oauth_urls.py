"""The authorization server's endpoints under /o/ (DOT's namespace, our consent-bound views)."""

from collections.abc import Callable
from typing import Any, cast

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views

from mydata_operator.security.clients import token_rate_limited

from . import app_oauth_views, oauth_views

app_name = "oauth2_provider"


def _view(cls: Any) -> Callable[..., HttpResponse]:
    """A machine endpoint's view: no CSRF check (clients authenticate themselves, with no
    cookie), never cached. Decorated once here: `method_decorator` on the class would wrap
    the view anew on every request (two `functools.update_wrapper` calls each time)."""
    return cast(Callable[..., HttpResponse], csrf_exempt(never_cache(cls.as_view())))


urlpatterns = [
    path("authorize/", oauth_views.ConsentAuthorizationView.as_view(), name="authorize"),
    path("par", token_rate_limited(_view(oauth_views.PushedAuthorizationView)), name="par"),
    path(
        "token/",
        token_rate_limited(cast(Callable[..., HttpResponse], oauth_views.DpopTokenView.as_view())),
        name="token",
    ),
    path("revoke_token/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", _view(oauth_views.ConsentIntrospectionView), name="introspect"),
    # Citizens' own apps: their own endpoints, their own tokens (for /api/v1/me/ only).
    path(
        "apps/par",
        token_rate_limited(_view(app_oauth_views.AppPushedAuthorizationView)),
        name="app-par",
    ),
    path("apps/authorize", app_oauth_views.AppAuthorizationView.as_view(), name="app-authorize"),
    path("apps/token", token_rate_limited(_view(app_oauth_views.AppTokenView)), name="app-token"),
]
