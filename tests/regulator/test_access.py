"""Only regulators reach the regulator pages and API, and a regulator can change nothing."""

from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from consents import log as consent_log
from consents.events import EventType
from consents.models import LogEntry

pytestmark = pytest.mark.usefixtures("frozen_now")

PAGES = [
    "/regulator/",
    "/regulator/entries/0/",
    "/regulator/export/",
    "/regulator/export/entries.jsonl",
    "/regulator/export/entries.csv",
    "/regulator/statistics/",
    "/regulator/integrity/",
]
API = [
    "/regulator/api/entries",
    "/regulator/api/entries/0",
    "/regulator/api/statistics",
    "/regulator/api/tree-head",
    "/regulator/api/jwks.json",
]


def every_url(populated: int) -> list[str]:
    lineage = LogEntry.objects.exclude(consent_lineage=None).values_list(
        "consent_lineage", flat=True
    )[0]
    return [
        *PAGES,
        *API,
        f"/regulator/consents/{lineage}/",
        f"/regulator/api/consents/{lineage}",
        "/regulator/api/tree-heads/1",
    ]


def test_anonymous_visitor_is_sent_to_sign_in_from_every_page(populated: int) -> None:
    client = Client()
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_api_call_is_refused(populated: int) -> None:
    for url in API:
        assert Client().get(url).status_code in (401, 403), url


def test_citizen_cannot_reach_any_regulator_page_or_api(
    citizen_client: Client, populated: int
) -> None:
    for url in every_url(populated):
        assert citizen_client.get(url).status_code == 403, url


def test_operator_staff_without_a_regulator_account_cannot_reach_them(populated: int) -> None:
    admin = get_user_model().objects.create_superuser("root", password="root-pass-123")
    client = Client()
    client.force_login(admin)
    for url in every_url(populated):
        assert client.get(url).status_code == 403, url


def test_provider_with_an_access_token_cannot_reach_the_regulator_api(
    provider: Any, populated: int
) -> None:
    app = Application.objects.create(
        name="Terveys Oy",
        client_id="terveys-oy",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    AccessToken.objects.create(
        application=app,
        token="provider-token-123",
        expires=timezone.now() + timedelta(minutes=5),
        scope="read",
    )
    client = Client(HTTP_AUTHORIZATION="Bearer provider-token-123")
    for url in API:
        assert client.get(url).status_code in (401, 403), url
    for url in PAGES:
        assert client.get(url).status_code == 302, url


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_regulator_is_refused_every_method_that_could_change_something(
    regulator_client: Client, populated: int, method: str
) -> None:
    for url in every_url(populated):
        response = getattr(regulator_client, method)(
            url, data="{}", content_type="application/json"
        )
        assert response.status_code in (403, 405), (method, url, response.status_code)


def _state() -> dict[str, int]:
    """Row counts of every table but the log's own (which audit entries extend)."""
    skip = {"logentry", "lognode", "loghead", "treehead", "seentreehead", "session"}
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m._meta.model_name not in skip and not m._meta.proxy
    }


def test_regulator_requests_change_nothing_but_append_audit_entries(
    regulator_client: Client, populated: int
) -> None:
    before = _state()
    size = LogEntry.objects.count()
    consents = list(apps.get_model("consents", "Consent").objects.values())
    for url in every_url(populated):
        for method in ("get", "post", "put", "patch", "delete"):
            response = getattr(regulator_client, method)(url)
            if response.streaming:
                b"".join(response.streaming_content)
    assert _state() == before
    assert list(apps.get_model("consents", "Consent").objects.values()) == consents
    consent_log.log_integrate()  # as the integrator does after commit
    new = LogEntry.objects.filter(leaf__seq__gte=size)
    assert new.exists()
    assert set(new.values_list("event_type", flat=True)) == {EventType.AUDIT_QUERY}
