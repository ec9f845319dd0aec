"""The service's front page and its health check."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from consents.log import log_head


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"log_size": log_head().size})


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness: the database answers and the log head is readable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "logSize": log_head().size})
