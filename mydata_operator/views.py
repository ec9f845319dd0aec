"""The service's front page (the citizen dashboard's landing page; a regulator's own landing
is the regulator's search), its health check, and the not-found answer (problem+json under
/api/ and /o/, the regulator's own page with its navigation under /regulator/ for a signed-in
regulator, the site's page elsewhere)."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found

from consents.log import log_head
from mydata_operator.api.problems import NOT_FOUND_TITLE, problem_response
from mydata_operator.dashboard.views import home as citizen_home
from mydata_operator.identity.models import Person, Regulator
from mydata_operator.regulator.views import not_found as regulator_not_found

__all__ = ["healthz", "home", "not_found"]

API_PREFIXES = ("/api/", "/o/", "/regulator/api/", "/cds-services")
REGULATOR_PREFIX = "/regulator/"


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
    """An unknown API path answers like every API error: RFC 9457 problem+json (in the
    request's language); a regulator keeps the regulator's navigation."""
    if request.path.startswith(API_PREFIXES):
        return problem_response(
            404,
            "not-found",
            str(NOT_FOUND_TITLE),
            _("No resource at %(path)s.") % {"path": request.path},
        )
    if request.path.startswith(REGULATOR_PREFIX):
        page = regulator_not_found(request, exception)
        if page is not None:
            return page
    return page_not_found(request, exception)
