"""Fixtures of the staff tests: a signed-in superuser, a provider client, and the helpers that
post an admin action, get a token and read the log."""

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from consents.events import EventType
from consents.models import Consent, LogEntry
from mydata_operator.identity.models import Person, Provider
from tests.provider_api.conftest import (
    SECRET,
    ProviderClient,
    authorize,
    bound_headers,
    exchange,
    make_client,
)


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_user(db: Any) -> Any:
    return get_user_model().objects.create_superuser("admin", password="admin-pass-1")


@pytest.fixture
def staff(staff_user: Any) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def provider_client(provider: Provider) -> ProviderClient:
    return make_client(provider, "terveys-oy", SECRET)


def browser_of(citizen: Person) -> Client:
    browser = Client()
    assert citizen.user is not None
    browser.force_login(citizen.user)
    return browser


def token_for(citizen: Person, pc: ProviderClient, consent: Consent) -> str:
    answer = exchange(Client(), pc, authorize(browser_of(citizen), pc.client_id, consent.id))
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def conditions(token: str) -> Any:
    path = "/api/v1/data/Condition"
    return Client().get(path, **bound_headers(token, "GET", path))


def admin_action(staff: Client, model: str, obj: Any, action: str, **fields: str) -> Any:
    return staff.post(
        f"/admin/{model}/",
        {"action": action, "_selected_action": [str(obj.pk)], "apply": "1", **fields},
    )


def entries(event: EventType) -> list[dict[str, Any]]:
    return [json.loads(e.entry) for e in LogEntry.objects.filter(event_type=event).order_by("id")]
