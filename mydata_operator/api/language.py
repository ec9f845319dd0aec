"""The language of an API answer: the one the request's Accept-Language asks for (fi, sv or
en), else English; never the browser session's cookie, so one answer is in one language.

The JSON APIs are the provider's and citizen's under /api/ and the regulator's under
/regulator/api/ (a regulator's session carries the pages' language cookie; the API answers in
the language each request asks for all the same)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import trans_real

#: Where the JSON APIs live: every answer under these paths is in `api_language`.
API_PREFIXES = ("/api/", "/regulator/api/")


def is_api_path(path: str) -> bool:
    """True for a path of one of the JSON APIs."""
    return path.startswith(API_PREFIXES)


def api_language(request: HttpRequest) -> str:
    """The supported language Accept-Language prefers, or English when it names none."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for code, _quality in trans_real.parse_accept_lang_header(header):
        if code == "*":
            break
        try:
            return trans_real.get_supported_language_variant(code)
        except LookupError:
            continue
    return "en"


class ApiLanguageMiddleware:
    """After Django's LocaleMiddleware: API paths answer in `api_language`, and say so in
    Content-Language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_path(request.path):
            return self.get_response(request)
        language = api_language(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = self.get_response(request)
        response.headers["Content-Language"] = language
        if "Accept-Language" not in response.headers.get("Vary", ""):
            vary = response.headers.get("Vary")
            response.headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
        return response
