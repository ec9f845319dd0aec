"""The service's front page (the citizen dashboard's landing page; a regulator's own landing
is the regulator's search), its health check, and the not-found answer (problem+json under
/api/ and /o/, the site's page elsewhere)."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.views.defaults import page_not_found

from consents.log import log_head
from mydata_operator.api.problems import problem_response
from mydata_operator.dashboard.views import home as citizen_home
from mydata_operator.identity.models import Person, Regulator

__all__ = ["healthz", "home", "not_found"]

API_PREFIXES = ("/api/", "/o/", "/regulator/api/", "/cds-services")


def home(request: HttpRequest) -> HttpResponseBase:
    """The front page; a signed-in regulator (who is not also a citizen here) lands on the
    regulator's pages, which is also where signing in sends them (LOGIN_REDIRECT_URL)."""
    user = request.user
    if (
        user.is_authenticated
        and Regulator.objects.filter(user_id=user.pk).exists()
        and not Person.objects.filter(user_id=user.pk).exists()
    ):
        return redirect("regulator:search")
    return citizen_home(request)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness: the database answers and the log head is readable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "logSize": log_head().size})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An unknown API path answers like every API error: RFC 9457 problem+json."""
    if request.path.startswith(API_PREFIXES):
        return problem_response(404, "not-found", "Not found.", f"No resource at {request.path}.")
    return page_not_found(request, exception)
