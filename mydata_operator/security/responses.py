"""problem+json answers made outside Django REST framework's views (middleware, wrappers)."""

from django.conf import settings
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from mydata_operator.api.problems import problem


def problem_rendered(status: int, code: str, title: str, detail: str) -> HttpResponse:
    """A problem+json response (the one builder, mydata_operator.api.problems) rendered
    for use outside Django REST framework's views."""
    response = problem(status, code, title, detail)
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = "application/problem+json"
    response.renderer_context = {}  # type: ignore[attr-defined]  # set by DRF views, not stubbed
    response.render()
    return response


def too_large() -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return problem_rendered(
        413, "body-too-large", "The request body is too large.", f"It may be at most {limit} bytes."
    )


def too_many(retry_after: int, detail: str) -> HttpResponse:
    """429 problem+json with Retry-After."""
    response = problem_rendered(429, "too-many-requests", "Too many requests.", detail)
    response["Retry-After"] = str(retry_after)
    return response
