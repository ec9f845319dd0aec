"""Who may use each URL: one entry per URL pattern (its name, or "route:<pattern>" for a
pattern without one), saying for each method what each persona gets.

An entry is {"kwargs": {...}, "GET": {persona: outcome}, "POST": {...}, ...}; path values
name objects of the world (`world.py`: "aino_consent", "webhook_a", ...) or are literal.
An entry with several "cases" walks the URL once per case (e.g. a consent of the citizen, of
the guardian's child, of the mandate holder's principal). POST bodies are `{}` as JSON
unless "body" or "form" says otherwise: a permitted persona then gets INPUT (the body is
refused) or acts (every request is rolled back). Provider personas send their client
credentials, or with "auth": "token" their consent-bound access token.

Outcomes: OK (2xx), MOVED (another 3xx), LOGIN (sent to sign in), an HTTP status, INPUT (the
request got past authorisation and its body was refused: 400, 409 or 422), ANY (not a 5xx).

To add a URL: add its entry here, built from the profiles below, and read what the test says.
"""

from typing import Any

from .world import PERSONAS

OK = "2xx"
MOVED = "3xx"
LOGIN = "login"
INPUT = "input"
ANY = "any"

Outcomes = dict[str, str | int]


def personas(default: str | int, **each: str | int) -> Outcomes:
    """An outcome for every persona: `default`, except those named."""
    unknown = set(each) - set(PERSONAS)
    assert not unknown, f"unknown personas {unknown}"
    return {p: each.get(p, default) for p in PERSONAS}


EVERYONE = personas(OK)
NO_METHOD = personas(405)

# --- The citizen's dashboard: providers have no session, so they are sent to sign in too.
_NOT_SIGNED_IN = {"anonymous": LOGIN, "provider_a": LOGIN, "provider_b": LOGIN}
_NOT_CITIZENS = {"regulator": 403, "staff": 403}
CITIZEN_PAGE = personas(OK, **_NOT_SIGNED_IN, **_NOT_CITIZENS)


def citizen_object(owner: str, ok: str | int = OK) -> Outcomes:
    """A page about one consent or receipt: its owner (or their representative) only; for
    everyone else it does not exist."""
    return personas(404, **_NOT_SIGNED_IN, **_NOT_CITIZENS, **{owner: ok})


# --- The citizen API (session): not signed in or not a citizen is 403 problem+json.
# Providers send their own credentials, which the citizen API does not take: 401 (a citizen
# app's DPoP token is the only Authorization it reads).
_NO_SESSION = {"anonymous": 403, "provider_a": 401, "provider_b": 401}
CITIZEN_API = personas(OK, **_NO_SESSION, regulator=403, staff=403)


def citizen_api_object(owner: str, ok: str | int = OK) -> Outcomes:
    return personas(404, **_NO_SESSION, **{owner: ok})


# --- The regulator's pages and API: regulators only, read-only.
REGULATOR_PAGE = personas(403, regulator=OK, **_NOT_SIGNED_IN)
REGULATOR_API = personas(403, regulator=OK)
REGULATOR_API_WRITE = personas(403)  # nobody writes; the permission refuses before the method

# --- The provider API: client credentials (or a token); others are 401 with a challenge.
PROVIDER_API = personas(401, provider_a=OK, provider_b=OK)
PROVIDER_API_NO_METHOD = personas(401, provider_a=405, provider_b=405)
PROVIDER_API_INPUT = personas(401, provider_a=INPUT, provider_b=INPUT)


def provider_object(owner: str, ok: str | int = OK) -> Outcomes:
    """Something of one provider: the other provider gets 404, as if it did not exist."""
    other = "provider_b" if owner == "provider_a" else "provider_a"
    return personas(401, **{owner: ok, other: 404})


# --- Signed-in accounts of any kind (Django's password pages).
ACCOUNT_PAGE = personas(OK, **_NOT_SIGNED_IN)

# --- Django's admin: operator staff only. Every admin URL without its own entry below
# follows this rule (so a newly registered model is covered at once).
STAFF_ONLY = personas(LOGIN, staff=ANY)
ADMIN: dict[str, Any] = {"GET": STAFF_ONLY}

_THREE = [
    ("aino_consent", "citizen"),
    ("onni_consent", "guardian"),  # the child's, given by the guardian
    ("helmi_consent", "mandate_holder"),  # the principal's, given by the mandate holder
]

TABLE: dict[str, dict[str, Any]] = {
    # --- Public pages and documents
    "home": {"GET": personas(OK, regulator=MOVED)},  # a regulator is sent to their pages
    "healthz": {"GET": EVERYONE},
    "jwks": {"GET": EVERYONE},
    "oauth-authorization-server": {"GET": EVERYONE},
    "oauth-authorization-server-apps": {"GET": EVERYONE},
    "schema": {"GET": EVERYONE},
    "api-docs": {"GET": EVERYONE},
    "set_language": {"GET": personas(MOVED), "POST": personas(MOVED)},
    # --- Signing in and accounts (Django's views)
    "login": {"GET": EVERYONE, "POST": EVERYONE},  # an empty form is shown again
    "logout": {"GET": NO_METHOD, "POST": personas(MOVED)},
    "password_change": {"GET": ACCOUNT_PAGE, "POST": ACCOUNT_PAGE},
    "password_change_done": {"GET": ACCOUNT_PAGE},
    "password_reset": {"GET": EVERYONE, "POST": EVERYONE},
    "password_reset_done": {"GET": EVERYONE},
    "password_reset_confirm": {
        "kwargs": {"uidb64": "MQ", "token": "not-a-token"},
        "GET": EVERYONE,  # "the link is not valid"
    },
    "password_reset_complete": {"GET": EVERYONE},
    # --- The dashboard
    "dashboard:overview": {"GET": CITIZEN_PAGE},
    "dashboard:consent-new": {
        "kwargs": {"kind": "provider-sharing"},
        "GET": CITIZEN_PAGE,
        "POST": CITIZEN_PAGE,  # the form again, with its errors
    },
    "dashboard:consent": {
        "cases": [
            {"kwargs": {"consent_id": consent}, "GET": citizen_object(owner)}
            for consent, owner in _THREE
        ]
    },
    "dashboard:consent-change": {
        "kwargs": {"consent_id": "aino_consent"},
        "GET": citizen_object("citizen"),
        "POST": citizen_object("citizen"),
    },
    "dashboard:consent-action": {
        "cases": [
            {
                "kwargs": {"consent_id": consent, "action": "withdraw"},
                "GET": citizen_object(owner),
                "POST": citizen_object(owner, MOVED),  # withdrawn (rolled back)
            }
            for consent, owner in _THREE
        ]
    },
    "dashboard:requests": {"GET": CITIZEN_PAGE},
    "dashboard:request": {
        "kwargs": {"consent_id": "aino_request"},
        "GET": citizen_object("citizen"),
        "POST": citizen_object("citizen"),  # no answer given: the page again
    },
    "dashboard:offers": {"GET": CITIZEN_PAGE},
    "dashboard:security": {"GET": CITIZEN_PAGE, "POST": CITIZEN_PAGE},
    "dashboard:receipt-verify": {"GET": CITIZEN_PAGE, "POST": CITIZEN_PAGE},
    "dashboard:receipt": {
        "kwargs": {"receipt_id": "aino_receipt"},
        "GET": citizen_object("citizen"),
    },
    "dashboard:receipt-page": {
        "kwargs": {"receipt_id": "aino_receipt"},
        "GET": citizen_object("citizen"),
    },
    "dashboard:receipt-pdf": {
        "kwargs": {"receipt_id": "aino_receipt"},
        "GET": citizen_object("citizen"),
    },
    # Acting for someone: with no person named, back to one's own overview (a redirect);
    # a person one may not act for is 404 (tests/dashboard for that case).
    "dashboard:acting-for": {
        "GET": personas(405, **_NOT_SIGNED_IN, **_NOT_CITIZENS),
        "POST": personas(MOVED, **_NOT_SIGNED_IN, **_NOT_CITIZENS),
    },
    "dashboard:disclosures": {"GET": CITIZEN_PAGE},
    # An app authorization of nobody here: 404 for every citizen (the owner's revoke is in
    # tests/citizen_api/test_citizen_apps.py).
    "dashboard:app-revoke": {
        "kwargs": {"authorization_id": "00000000-0000-4000-8000-000000000000"},
        "GET": personas(405, **_NOT_SIGNED_IN, **_NOT_CITIZENS),
        "POST": personas(404, **_NOT_SIGNED_IN, **_NOT_CITIZENS),
    },
    # --- Pages for everyone
    "dashboard:privacy": {"GET": EVERYONE},
    "dashboard:accessibility": {"GET": EVERYONE},
    # --- The citizen API
    "me-consents": {
        "GET": CITIZEN_API,
        "POST": personas(INPUT, **_NO_SESSION, regulator=403, staff=403),
    },
    "me-consent": {
        "cases": [
            {"kwargs": {"consent_id": consent}, "GET": citizen_api_object(owner)}
            for consent, owner in _THREE
        ]
    },
    "me-consent-change": {
        "kwargs": {"consent_id": "aino_consent"},
        "GET": personas(405, **_NO_SESSION),
        "POST": citizen_api_object("citizen", INPUT),
    },
    "me-consent-approve": {
        "kwargs": {"consent_id": "aino_request"},
        "GET": personas(405, **_NO_SESSION),
        "POST": citizen_api_object("citizen", INPUT),
    },
    "me-consent-history": {
        "kwargs": {"consent_id": "aino_consent"},
        "GET": citizen_api_object("citizen"),
    },
    "me-consent-fhir": {
        "kwargs": {"consent_id": "aino_consent"},
        "GET": citizen_api_object("citizen"),
    },
    "me-consent-receipts": {
        "kwargs": {"consent_id": "aino_consent"},
        "GET": citizen_api_object("citizen"),
    },
    "me-consent-action": {
        "cases": [
            {
                "kwargs": {"consent_id": consent, "action": "withdraw"},
                "GET": personas(405, **_NO_SESSION),
                "POST": citizen_api_object(owner),  # withdrawn (rolled back)
            }
            for consent, owner in _THREE
        ]
    },
    "me-receipt": {"kwargs": {"receipt_id": "aino_receipt"}, "GET": citizen_api_object("citizen")},
    # --- The public log API: heads and proofs for anyone; an entry for whom it is about
    "log-tree-head": {"GET": EVERYONE},
    "log-checkpoint": {"GET": EVERYONE},
    "log-checkpoint-key": {"GET": EVERYONE},
    "log-witnesses": {"GET": EVERYONE},
    "log-cosignatures": {"GET": NO_METHOD, "POST": personas(INPUT)},  # witnesses sign; checked
    "log-inclusion": {"GET": personas(400)},  # no parameters given: a problem, for anyone
    "log-consistency": {"GET": personas(400)},
    "log-entry": {
        "kwargs": {"seq": "aino_entry_seq"},
        "GET": personas(404, anonymous=403, provider_a=403, provider_b=403, citizen=OK),
    },
    "log-entry-by-id": {
        "kwargs": {"entry_id": "aino_entry_id"},
        "GET": personas(404, anonymous=403, provider_a=403, provider_b=403, citizen=OK),
    },
    # --- The regulator
    "regulator:search": {"GET": REGULATOR_PAGE, "POST": NO_METHOD},
    "regulator:entry": {"kwargs": {"seq": "aino_entry_seq"}, "GET": REGULATOR_PAGE},
    "regulator:consent": {"kwargs": {"consent": "aino_consent"}, "GET": REGULATOR_PAGE},
    "regulator:export": {"GET": REGULATOR_PAGE},
    "regulator:export-jsonl": {"GET": REGULATOR_PAGE},
    "regulator:export-csv": {"GET": REGULATOR_PAGE},
    "regulator:statistics": {"GET": REGULATOR_PAGE},
    "regulator:integrity": {"GET": REGULATOR_PAGE},
    "regulator:api-entries": {"GET": REGULATOR_API, "POST": REGULATOR_API_WRITE},
    "regulator:api-entry": {"kwargs": {"seq": "aino_entry_seq"}, "GET": REGULATOR_API},
    "regulator:api-consent": {"kwargs": {"consent": "aino_consent"}, "GET": REGULATOR_API},
    "regulator:api-statistics": {"GET": REGULATOR_API},
    "regulator:api-tree-head": {"GET": REGULATOR_API},
    "regulator:api-tree-heads": {"kwargs": {"size": "tree_size"}, "GET": REGULATOR_API},
    "regulator:api-jwks": {"GET": REGULATOR_API},
    # --- OAuth (item 1 of issue 10 changes these: PAR, DPoP, private_key_jwt)
    "oauth2_provider:authorize": {
        # Without parameters: an error page for the signed-in, sign-in first for the others.
        "GET": personas(400, **_NOT_SIGNED_IN),
        "POST": personas(OK, **_NOT_SIGNED_IN),
    },
    "oauth2_provider:token": {"GET": NO_METHOD, "POST": personas(400)},
    "oauth2_provider:revoke-token": {"GET": NO_METHOD, "POST": personas(400)},
    "oauth2_provider:introspect": {
        "GET": NO_METHOD,
        "POST": personas(401),  # the client assertion goes in the form body; none sent here
    },
    # --- The provider API
    "consent-requests": {"GET": PROVIDER_API_NO_METHOD, "POST": PROVIDER_API_INPUT},
    "consent-request": {
        "kwargs": {"consent_id": "aino_consent"},
        "GET": provider_object("provider_a"),
    },
    "consent-request-status": {
        "kwargs": {"consent_id": "aino_consent"},
        "GET": provider_object("provider_a"),
    },
    "provider-data": {
        # Each provider's token is bound to its own consent (A: Aino's, B: Eero's).
        "kwargs": {"resource_type": "Condition"},
        "auth": "token",
        "GET": PROVIDER_API,
    },
    "wellbeing-submit": {
        "GET": PROVIDER_API_NO_METHOD,
        "POST": personas(401, provider_a=403, provider_b=403),  # not a wellbeing app
    },
    "offers": {"GET": PROVIDER_API_NO_METHOD, "POST": PROVIDER_API_INPUT},
    "research-requests": {
        "GET": PROVIDER_API_NO_METHOD,
        "POST": personas(401, provider_a=403, provider_b=403),  # not a biobank
    },
    "webhooks": {"GET": PROVIDER_API, "POST": PROVIDER_API_INPUT},
    "webhook": {
        "kwargs": {"webhook_id": "webhook_a"},
        "GET": PROVIDER_API_NO_METHOD,
        "DELETE": provider_object("provider_a"),  # removed (rolled back)
    },
    # PAR authenticates the client in the form body (private_key_jwt); none is sent here.
    "oauth2_provider:par": {"GET": NO_METHOD, "POST": personas(401)},
    # --- Citizens' own apps (their tests: tests/citizen_api/test_citizen_apps.py)
    "oauth2_provider:app-par": {"GET": NO_METHOD, "POST": personas(401)},
    "oauth2_provider:app-authorize": {
        "GET": personas(400, **_NOT_SIGNED_IN),
        "POST": personas(400, **_NOT_SIGNED_IN),
    },
    "oauth2_provider:app-token": {"GET": NO_METHOD, "POST": personas(401)},
    "cds-services": {"GET": EVERYONE},  # CDS Hooks discovery is public
    "cds-service": {
        "kwargs": {"service_id": "patient-consent-consult"},
        # CDS Hooks callers sign a JWT for this service; no persona here sends one.
        "GET": personas(401),
        "POST": personas(401),
    },
    # --- The admin's own pages (every other admin URL follows ADMIN above)
    "admin:login": {"GET": personas(OK, staff=MOVED)},
    "admin:logout": {"GET": personas(MOVED, staff=405)},
}
