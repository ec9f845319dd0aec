"""The notice text shown on the authorize page, recorded verbatim when the citizen approves."""

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from consents.models import Consent
from consents.vocabulary import CATEGORIES, PURPOSES
from mydata_operator.api.dates import local_datetime
from mydata_operator.identity.models import Provider

TEMPLATES = {
    "fi": (
        "{provider} pyytää lupaa saada sinusta seuraavat tiedot: {categories}. "
        "Käyttötarkoitus: {purpose}. Lupa on voimassa {end} asti, ja voit perua sen milloin "
        "tahansa Tahdossa; peruminen lopettaa tietojen luovutuksen heti."
    ),
    "sv": (
        "{provider} ber om tillstånd att få följande uppgifter om dig: {categories}. "
        "Ändamål: {purpose}. Samtycket gäller till {end}, och du kan återkalla det när som "
        "helst i Tahto; återkallandet stoppar utlämnandet genast."
    ),
    "en": (
        "{provider} asks for your permission to receive the following data about you: "
        "{categories}. Purpose: {purpose}. The consent is valid until {end}, and you can "
        "withdraw it at any time in Tahto; withdrawal stops the disclosure at once."
    ),
}
OPEN_ENDED = {"fi": "toistaiseksi", "sv": "tills vidare", "en": "further notice"}


KIND_LABELS = {
    "wellbeing-county": _("Wellbeing services county"),
    "care-provider": _("Health care provider"),
    "social-care-provider": _("Social care provider"),
    "occupational-health": _("Occupational health care"),
    "biobank": _("Biobank"),
    "wellbeing-app": _("Wellbeing application"),
}


def kind_name(kind: str, language: str) -> str:
    with translation.override(language):
        return str(KIND_LABELS.get(kind, kind))


def category_names(codes: list[str], language: str) -> list[str]:
    """The data categories in the citizen's language (the shared vocabulary)."""
    with translation.override(language):
        return [str(CATEGORIES.get(code, code)) for code in codes]


def purpose_name(code: str, language: str) -> str:
    with translation.override(language):
        return str(PURPOSES.get(code, code))


def notice_language(language: str) -> str:
    return language if language in TEMPLATES else "en"


def notice_text(*, consent: Consent, provider: Provider, language: str) -> str:
    """The exact text the citizen reads before approving; a function of the consent only."""
    language = notice_language(language)
    scope = consent.scope if isinstance(consent.scope, dict) else {}
    end = OPEN_ENDED[language]
    if consent.valid_until:
        with translation.override(language):  # the dashboard's format: 29.5.2027 klo 9.36
            end = local_datetime(consent.valid_until)
    return TEMPLATES[language].format(
        provider=provider.name,
        categories=", ".join(category_names(sorted(scope.get("dataCategories", [])), language))
        or "-",
        purpose=purpose_name(str(scope.get("purpose", "self-care-support")), language),
        end=end,
    )
