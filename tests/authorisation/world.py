"""The world the authorisation matrix walks: nine personas and real objects of each, so that
every path parameter names something that exists and belongs to someone.

Sessions are kept as cookie values and tokens as header values, so that each request starts
from a fresh client and a request that logs out, or is rolled back, changes no other one.
How a provider persona presents itself is said in one place, `provider_headers`.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from connectors.models import Endpoint
from consents import log, services
from consents.models import Consent, LogEntry, Mandate, Receipt
from mydata_operator.identity.models import Person, Provider, Regulator
from tests.conftest import (
    COUNTY_OID,
    PROVIDER_OID,
    grant,
    needs_assessment_scope,
    person,
    provider_sharing_scope,
)
from tests.provider_api.conftest import (
    OTHER_SECRET,
    SECRET,
    ProviderClient,
    authorize,
    bound_headers,
    exchange,
    make_client,
)

#: Who walks every URL. Providers are OAuth clients (no session); the others sign in.
PERSONAS = (
    "anonymous",
    "citizen",
    "other_citizen",
    "guardian",
    "mandate_holder",
    "provider_a",
    "provider_b",
    "regulator",
    "staff",
)
PROVIDERS = ("provider_a", "provider_b")


@dataclass
class World:
    ids: dict[str, str] = field(default_factory=dict)  # path values by name
    sessions: dict[str, str] = field(default_factory=dict)  # persona -> session cookie
    clients: dict[str, ProviderClient] = field(default_factory=dict)  # provider persona
    tokens: dict[str, str] = field(default_factory=dict)  # provider persona -> access token

    _client: Client | None = None

    def client(self, persona: str) -> Client:
        """The one test client, carrying only this persona's session cookie. One client for
        every request: a new one loads the middleware again (WhiteNoise alone then scans every
        static file), which made the walk five times slower."""
        if self._client is None:
            self._client = Client(raise_request_exception=False)
        self._client.cookies = SimpleCookie()
        if persona in self.sessions:
            self._client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[persona]
        return self._client


def provider_headers(
    world: World, persona: str, auth: str, method: str, path: str
) -> dict[str, Any]:
    """What a provider persona sends: a fresh client-signed JWT (provider-level calls), or its
    DPoP-bound access token with a proof (`auth="token"`: data calls). Others send nothing."""
    if persona not in PROVIDERS:
        return {}
    if auth == "token":
        return bound_headers(world.tokens[persona], method, path)
    return {"HTTP_AUTHORIZATION": world.clients[persona].auth_header}


def _signed_in(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


def _token(subject: Person, pc: ProviderClient, consent: Consent) -> str:
    browser = Client()
    assert subject.user is not None
    browser.force_login(subject.user)
    answer = exchange(Client(), pc, authorize(browser, pc.client_id, consent.id))
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def _requested(subject: Person, organisation: str, now: datetime) -> Consent:
    return services.consent_request(
        subject_id=subject.id,
        requester=organisation,
        kind="provider-sharing",
        scope=provider_sharing_scope(recipient={"organisation": organisation, "name": "P"}),
        valid_until=now + timedelta(days=90),
    )


def build_world(now: datetime) -> World:
    """Everyone and everything the table's path parameters name (see `World.ids`)."""
    world = World()
    aino = person("Aino", "Virtanen", date(1985, 4, 12), 902, "aino")
    eero = person("Eero", "Korhonen", date(1979, 11, 3), 903, "eero")
    liisa = person("Liisa", "Mäkinen", date(1980, 1, 20), 904, "liisa")
    onni = person("Onni", "Mäkinen", date(2015, 6, 1), 905)
    matti = person("Matti", "Nieminen", date(1962, 8, 30), 906, "matti")
    helmi = person("Helmi", "Nieminen", date(1936, 2, 14), 907, "helmi")
    register = services.Actor.system("population-register")
    services.mandate_create(
        principal_id=onni.id,
        agent_id=liisa.id,
        basis=Mandate.Basis.GUARDIAN,
        valid_from=datetime(2015, 6, 1, tzinfo=UTC),
        valid_until=datetime(2033, 6, 1, tzinfo=UTC),
        actor=register,
    )
    services.mandate_create(
        principal_id=helmi.id,
        agent_id=matti.id,
        basis=Mandate.Basis.MANDATE,
        valid_until=now + timedelta(days=365),
        actor=services.Actor.person(helmi.id),
    )
    users = get_user_model().objects
    regulator = users.create_user("valvoja", password="valvoja-pass-1")
    Regulator.objects.create(user=regulator, organisation="Valvira")
    staff = users.create_superuser("admin", password="admin-pass-1")

    terveys = Provider.objects.create(
        organisation_id=PROVIDER_OID, name="Terveys Oy", kind=Provider.Kind.CARE_PROVIDER
    )
    county = Provider.objects.create(
        organisation_id=COUNTY_OID, name="Demo county", kind=Provider.Kind.WELLBEING_COUNTY
    )
    world.clients = {
        "provider_a": make_client(terveys, "terveys-oy", SECRET),
        "provider_b": make_client(county, "demo-county", OTHER_SECRET),
    }

    # Aino's consent, requested by provider A and authorized by her: A's token.
    aino_consent = _requested(aino, PROVIDER_OID, now)
    world.tokens["provider_a"] = _token(aino, world.clients["provider_a"], aino_consent)
    # Eero's consent, requested by provider B and authorized by him: B's token.
    eero_consent = _requested(eero, COUNTY_OID, now)
    world.tokens["provider_b"] = _token(eero, world.clients["provider_b"], eero_consent)
    aino_request = _requested(aino, PROVIDER_OID, now)  # still waiting for Aino's answer
    onni_consent = grant(onni, "biobank", actor=liisa)
    helmi_consent = grant(helmi, "needs-assessment", actor=matti, scope=needs_assessment_scope())
    webhook = Endpoint.objects.create(
        organisation_id=PROVIDER_OID, kind=Endpoint.Kind.WEBHOOK, url="https://a.example/hook"
    )
    log.log_integrate()
    head = log.tree_head_sign()
    aino_entry = LogEntry.objects.filter(consent_lineage=aino_consent.lineage).order_by("id")[0]

    world.ids = {
        "aino_consent": str(aino_consent.id),
        "aino_request": str(aino_request.id),
        "eero_consent": str(eero_consent.id),
        "onni_consent": str(onni_consent.id),
        "helmi_consent": str(helmi_consent.id),
        "aino_receipt": str(Receipt.objects.filter(consent=aino_consent).first().id),  # type: ignore[union-attr]
        "aino_entry_seq": str(aino_entry.seq),
        "aino_entry_id": str(aino_entry.id),
        "tree_size": str(head.tree_size),
        "webhook_a": str(webhook.id),
        "aino_person": str(aino.pk),
        "staff_user": str(staff.pk),
    }
    world.sessions = {
        "citizen": _signed_in(aino.user),
        "other_citizen": _signed_in(eero.user),
        "guardian": _signed_in(liisa.user),
        "mandate_holder": _signed_in(matti.user),
        "regulator": _signed_in(regulator),
        "staff": _signed_in(staff),
    }
    return world
