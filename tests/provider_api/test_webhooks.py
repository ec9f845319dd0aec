"""A provider registers, lists and removes its webhook for consent change notifications."""

import socket
from typing import Any

import pytest
from django.test import Client

from connectors.models import Endpoint
from tests.provider_api.conftest import ProviderClient

URL = "/api/v1/webhooks"
#: A public address literal: registering it resolves no name and connects nowhere.
HOOK = "https://1.1.1.1/hooks"


def test_provider_registers_lists_and_removes_a_webhook(provider_client: ProviderClient) -> None:
    created = Client().post(
        URL,
        {"url": HOOK},
        content_type="application/json",
        HTTP_AUTHORIZATION=provider_client.auth_header,
    )
    assert created.status_code == 201, created.content
    endpoint = Endpoint.objects.get(id=created.json()["id"])
    assert (
        endpoint.kind == "webhook"
        and endpoint.organisation_id == provider_client.provider.organisation_id
    )
    listed = Client().get(URL, HTTP_AUTHORIZATION=provider_client.auth_header).json()
    assert [w["url"] for w in listed["webhooks"]] == [HOOK]
    gone = Client().delete(f"{URL}/{endpoint.id}", HTTP_AUTHORIZATION=provider_client.auth_header)
    assert gone.status_code == 204
    assert not Endpoint.objects.exists()


def test_another_providers_webhook_is_invisible(
    provider_client: ProviderClient, other_provider_client: ProviderClient
) -> None:
    created = (
        Client()
        .post(
            URL,
            {"url": HOOK},
            content_type="application/json",
            HTTP_AUTHORIZATION=provider_client.auth_header,
        )
        .json()
    )
    assert Client().get(URL, HTTP_AUTHORIZATION=other_provider_client.auth_header).json() == {
        "webhooks": []
    }
    gone = Client().delete(
        f"{URL}/{created['id']}", HTTP_AUTHORIZATION=other_provider_client.auth_header
    )
    assert gone.status_code == 404
    assert Endpoint.objects.count() == 1


def test_webhook_url_must_be_http(provider_client: ProviderClient, db: Any) -> None:
    answer = Client().post(
        URL,
        {"url": "ftp://provider.example/hooks"},
        content_type="application/json",
        HTTP_AUTHORIZATION=provider_client.auth_header,
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["pointer"] == "/url"


def register(pc: ProviderClient, url: str) -> Any:
    return Client().post(
        URL, {"url": url}, content_type="application/json", HTTP_AUTHORIZATION=pc.auth_header
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/hooks", "127.0.0.1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[::1]:8000/admin/", "::1, a loopback address"),
        ("https://10.0.0.1/", "10.0.0.1, a private address"),
        ("https://192.168.1.20/hooks", "a private address"),
        ("https://100.64.0.1/hooks", "not publicly routable"),
        ("https://[fe80::1]/hooks", "a link-local address"),
        ("https://[fd00::1]/hooks", "a unique-local address"),
        ("https://[fd00:ec2::254]/", "a cloud metadata address"),
        ("https://224.0.0.1/hooks", "a multicast address"),
        ("https://0.0.0.0/hooks", "the unspecified address"),
        ("https://[::ffff:127.0.0.1]/hooks", "a loopback address"),
        ("https://[64:ff9b::7f00:1]/hooks", "a loopback address, 127.0.0.1, in IPv6 form"),
        ("https://[2002:a00:1::1]/hooks", "a private address, 10.0.0.1, in IPv6 form"),
        ("https://[64:ff9b::a9fe:a9fe]/", "a cloud metadata address, 169.254.169.254"),
        ("https://[::127.0.0.1]/hooks", "an IPv4-compatible address"),
        # a name, refused after resolving it (localhost resolves to loopback)
        ("https://localhost:8443/hooks", "localhost resolves to 127.0.0.1, a loopback address"),
        ("http://1.1.1.1/hooks", "must use https"),
        ("https://user:pw@1.1.1.1/hooks", "user name or password"),
    ],
)
def test_unsafe_webhook_urls_are_refused_at_registration(
    provider_client: ProviderClient, url: str, why: str
) -> None:
    answer = register(provider_client, url)
    assert answer.status_code == 422, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "webhook-url-refused"
    assert problem["errors"][0]["pointer"] == "/url"
    assert why in problem["errors"][0]["message"]
    assert not Endpoint.objects.exists()


def test_the_test_only_loopback_setting_lets_only_loopback_through(
    provider_client: ProviderClient, settings: Any
) -> None:
    settings.TAHTO_WEBHOOK_ALLOW_LOOPBACK = True
    assert register(provider_client, "http://127.0.0.1:8080/hooks").status_code == 201
    assert register(provider_client, "http://localhost:8080/hooks").status_code == 201
    for url in ("http://10.0.0.1/hooks", "http://169.254.169.254/", "http://1.1.1.1/hooks"):
        assert register(provider_client, url).status_code == 422, url
    assert Endpoint.objects.count() == 2


def answering(monkeypatch: Any, name: str, *answers: list[str]) -> list[str]:
    """Make `name` resolve to the next list of `answers` on each lookup (the last one then
    stays). No resolver on this machine answers a private address for a name, and no test
    may ask a resolver on the network, so the lookup itself is replaced for that one name."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != name:
            return real(host, port, *args, **kwargs)
        addresses = answers[min(len(asked), len(answers) - 1)]
        asked.append(host)
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port or 443) if ":" not in a else (a, port or 443, 0, 0),
            )
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_with_any_private_address_is_refused(
    provider_client: ProviderClient, monkeypatch: Any
) -> None:
    answering(monkeypatch, "hooks.provider.test", ["1.1.1.1", "10.1.2.3"])
    answer = register(provider_client, "https://hooks.provider.test/events")
    assert answer.status_code == 422
    assert (
        "hooks.provider.test resolves to 10.1.2.3, a private address"
        in (answer.json()["errors"][0]["message"])
    )


def test_a_name_with_only_public_addresses_is_registered(
    provider_client: ProviderClient, monkeypatch: Any
) -> None:
    asked = answering(monkeypatch, "hooks.provider.test", ["1.1.1.1", "2606:4700:4700::1111"])
    assert register(provider_client, "https://hooks.provider.test/events").status_code == 201
    assert asked == ["hooks.provider.test"]  # the name was resolved, not taken on trust
