"""problem+json answers made outside Django REST framework's views (middleware, wrappers)."""

from django.conf import settings
from django.http import HttpResponse

from mydata_operator.api.problems import problem_response


def problem_rendered(status: int, code: str, title: str, detail: str) -> HttpResponse:
    """A problem+json response outside REST framework's views (the one builder)."""
    return problem_response(status, code, title, detail)


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
