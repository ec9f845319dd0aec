"""A provider registers, lists and removes its webhook for consent change notifications."""

from typing import Any

from django.test import Client

from connectors.models import Endpoint
from tests.provider_api.conftest import ProviderClient

URL = "/api/v1/webhooks"


def test_provider_registers_lists_and_removes_a_webhook(provider_client: ProviderClient) -> None:
    created = Client().post(
        URL,
        {"url": "https://provider.example/hooks"},
        content_type="application/json",
        HTTP_AUTHORIZATION=provider_client.basic,
    )
    assert created.status_code == 201, created.content
    endpoint = Endpoint.objects.get(id=created.json()["id"])
    assert (
        endpoint.kind == "webhook"
        and endpoint.organisation_id == provider_client.provider.organisation_id
    )
    listed = Client().get(URL, HTTP_AUTHORIZATION=provider_client.basic).json()
    assert [w["url"] for w in listed["webhooks"]] == ["https://provider.example/hooks"]
    gone = Client().delete(f"{URL}/{endpoint.id}", HTTP_AUTHORIZATION=provider_client.basic)
    assert gone.status_code == 204
    assert not Endpoint.objects.exists()


def test_another_providers_webhook_is_invisible(
    provider_client: ProviderClient, other_provider_client: ProviderClient
) -> None:
    created = (
        Client()
        .post(
            URL,
            {"url": "https://provider.example/hooks"},
            content_type="application/json",
            HTTP_AUTHORIZATION=provider_client.basic,
        )
        .json()
    )
    assert Client().get(URL, HTTP_AUTHORIZATION=other_provider_client.basic).json() == {
        "webhooks": []
    }
    gone = Client().delete(f"{URL}/{created['id']}", HTTP_AUTHORIZATION=other_provider_client.basic)
    assert gone.status_code == 404
    assert Endpoint.objects.count() == 1


def test_webhook_url_must_be_http(provider_client: ProviderClient, db: Any) -> None:
    answer = Client().post(
        URL,
        {"url": "ftp://provider.example/hooks"},
        content_type="application/json",
        HTTP_AUTHORIZATION=provider_client.basic,
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["pointer"] == "/url"
