"""The service's front page (the citizen dashboard's landing page) and its health check."""

from django.db import connection
from django.http import HttpRequest, JsonResponse

from consents.log import log_head
from mydata_operator.dashboard.views import home

__all__ = ["healthz", "home"]


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness: the database answers and the log head is readable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "logSize": log_head().size})
