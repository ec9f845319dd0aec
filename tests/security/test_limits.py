"""Limits an attacker runs into: sign-in and step-up lockout, provider rates, body size, and
no person record for an unknown identity code (docs/security.md, "Limits")."""

from datetime import date, datetime, timedelta
from typing import Any

import time_machine
from django.test import Client

from consents.models import Consent
from mydata_operator.identity.models import Person
from mydata_operator.security.models import SecurityEvent
from schemas.hetu import make_hetu
from tests.conftest import grant, provider_sharing_scope
from tests.provider_api.conftest import ProviderClient

LOGIN = "/accounts/login/"
Kind = SecurityEvent.Kind


def refusals(kind: str, who: str) -> list[int]:
    events = SecurityEvent.objects.filter(kind=kind, who=who).order_by("id")
    return [e.detail["refusals"] for e in events]


def sign_in(client: Client, username: str, password: str) -> Any:
    return client.post(LOGIN, {"username": username, "password": password})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_fifty_wrong_passwords_then_the_right_one_does_not_sign_in(
    citizen: Person, frozen_now: datetime, settings: Any
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for attempt in range(50):
        assert sign_in(client, "aino", f"guess-{attempt}").status_code == 200
    answer = sign_in(client, "aino", "aino-pass-1")
    assert answer.status_code == 200 and not signed_in(client)
    assert "Too many failed attempts" in answer.content.decode()
    limit = settings.TAHTO_LOGIN_FAILURES
    assert SecurityEvent.objects.filter(kind=Kind.LOGIN_FAILED, who="aino").count() == limit
    # the wrong passwords after the lockout, and the right one, are logged as refused: the
    # 1st and the 10th refusal are written, with the count
    assert refusals(Kind.LOGIN_LOCKED, "aino") == [1, 10] and 51 - limit >= 10
    # once the lockout has passed, the right password signs in again
    later = frozen_now + timedelta(seconds=settings.TAHTO_LOGIN_LOCKOUT_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert sign_in(client, "aino", "aino-pass-1").status_code == 302
        assert signed_in(client)


def test_the_lockout_is_told_in_finnish_and_swedish(citizen: Person, settings: Any) -> None:
    for _ in range(settings.TAHTO_LOGIN_FAILURES):
        sign_in(Client(), "aino", "wrong")
    for language, text in [("fi", "Kirjautuminen on lukittu"), ("sv", "Inloggningen är låst")]:
        answer = Client(HTTP_ACCEPT_LANGUAGE=language).post(
            LOGIN, {"username": "aino", "password": "aino-pass-1"}
        )
        assert text in answer.content.decode(), language


def test_a_failed_sign_in_is_logged_with_the_name_and_address(citizen: Person) -> None:
    sign_in(Client(), "aino", "not-it")
    sign_in(Client(), "nobody-at-all", "not-it")
    events = SecurityEvent.objects.order_by("id")
    assert [(e.kind, e.who, e.remote_addr) for e in events] == [
        (Kind.LOGIN_FAILED, "aino", "127.0.0.1"),
        (Kind.LOGIN_FAILED, "nobody-at-all", "127.0.0.1"),
    ]
    assert events[0].detail["path"] == LOGIN


def test_a_lockout_does_not_tell_whether_the_account_exists(citizen: Person, settings: Any) -> None:
    for name in ("aino", "no-such-user"):
        for _ in range(settings.TAHTO_LOGIN_FAILURES):
            sign_in(Client(), name, "wrong")
    known = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), "aino", "wrong").content.decode()
    unknown = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), "no-such-user", "wrong").content.decode()
    assert "Too many failed attempts" in known and "Too many failed attempts" in unknown


def test_many_names_from_one_address_lock_that_address(citizen: Person, settings: Any) -> None:
    settings.TAHTO_LOGIN_ADDRESS_FAILURES = 5
    for i in range(5):
        sign_in(Client(), f"sprayed-{i}", "Kevät2026!")
    client = Client()
    assert sign_in(client, "aino", "aino-pass-1").status_code == 200 and not signed_in(client)


def test_step_up_passwords_are_throttled_like_sign_in(
    citizen: Person, frozen_now: datetime, settings: Any
) -> None:
    consent = grant(citizen, "provider-sharing")
    client = Client()
    assert sign_in(client, "aino", "aino-pass-1").status_code == 302
    with time_machine.travel(frozen_now + timedelta(minutes=6), tick=False):
        for _ in range(settings.TAHTO_LOGIN_FAILURES + 5):
            client.post(f"/consents/{consent.id}/withdraw/", {"step_up_password": "nope"})
        client.post(f"/consents/{consent.id}/withdraw/", {"step_up_password": "aino-pass-1"})
    consent.refresh_from_db()
    assert consent.status == "active"
    assert SecurityEvent.objects.filter(kind=Kind.STEP_UP_FAILED).count() == 10
    assert refusals(Kind.STEP_UP_LOCKED, "aino") == [1]


def test_step_up_codes_are_throttled(citizen: Person, frozen_now: datetime, settings: Any) -> None:
    from mydata_operator.dashboard.models import TotpDevice
    from mydata_operator.dashboard.stepup import totp_code, totp_counter

    consent = grant(citizen, "provider-sharing")
    client = Client()
    sign_in(client, "aino", "aino-pass-1")
    client.post("/security/", {"action": "start"})
    device = TotpDevice.objects.get(user=citizen.user)
    client.post(
        "/security/", {"action": "confirm", "code": totp_code(device.secret, totp_counter())}
    )
    later = frozen_now + timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        for guess in range(settings.TAHTO_LOGIN_FAILURES):
            client.post(f"/consents/{consent.id}/withdraw/", {"step_up_code": f"{guess:06d}"})
        right = totp_code(device.secret, totp_counter(later))
        client.post(f"/consents/{consent.id}/withdraw/", {"step_up_code": right})
    consent.refresh_from_db()
    assert consent.status == "active"
    assert refusals(Kind.STEP_UP_LOCKED, "aino") == [1]


# --- Providers -------------------------------------------------------------------------------


def consent_request_body(code: str, now: datetime) -> dict[str, Any]:
    return {
        "kind": "provider-sharing",
        "scope": provider_sharing_scope(),
        "period": {"end": (now + timedelta(days=90)).isoformat()},
        "subject": {"personalIdentityCode": code},
    }


def test_a_burst_of_300_consent_requests_is_cut_off(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime, settings: Any
) -> None:
    client = Client()
    statuses = []
    for _ in range(300):
        answer = client.post(
            "/api/v1/consent-requests",
            consent_request_body(citizen.personal_identity_code, frozen_now),
            content_type="application/json",
            HTTP_AUTHORIZATION=provider_client.auth_header,
        )
        statuses.append(answer.status_code)
    allowed = int(settings.TAHTO_CONSENT_REQUEST_RATE.split("/")[0])
    assert statuses == [201] * allowed + [429] * (300 - allowed)
    assert Consent.objects.filter(subject_id=citizen.id).count() == allowed
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == 429 and answer.json()["code"] == "throttled"
    assert 1 <= int(answer["Retry-After"]) <= 60
    # 200 refusals, logged without 200 rows: the 1st, 10th and 100th
    assert refusals(Kind.RATE_LIMITED, provider_client.provider.organisation_id) == [1, 10, 100]


def test_one_providers_burst_does_not_stop_another(
    provider_client: ProviderClient,
    other_provider_client: ProviderClient,
    citizen: Person,
    frozen_now: datetime,
    settings: Any,
) -> None:
    settings.TAHTO_CONSENT_REQUEST_RATE = "2/60"
    client = Client()
    code = citizen.personal_identity_code
    for _ in range(3):
        last = client.post(
            "/api/v1/consent-requests",
            consent_request_body(code, frozen_now),
            content_type="application/json",
            HTTP_AUTHORIZATION=provider_client.auth_header,
        )
    assert last.status_code == 429
    body = consent_request_body(code, frozen_now)
    body["scope"] = provider_sharing_scope(
        recipient={"organisation": other_provider_client.provider.organisation_id}
    )
    other = client.post(
        "/api/v1/consent-requests",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=other_provider_client.auth_header,
    )
    assert other.status_code == 201, other.content


def test_wrong_client_secrets_lock_the_token_endpoint(
    provider_client: ProviderClient, frozen_now: datetime, settings: Any
) -> None:
    wrong = ProviderClient(provider_client.provider, provider_client.client_id, "guess")
    statuses = [
        Client()
        .post(
            "/o/token/",
            {"grant_type": "authorization_code", "code": "x", **wrong.assertion_form()},
        )
        .status_code
        for _ in range(100)
    ]
    failures = int(settings.TAHTO_CLIENT_AUTH_FAILURES.split("/")[0])
    assert statuses == [401] * failures + [429] * (100 - failures)
    right = Client().post(
        "/o/token/",
        {"grant_type": "authorization_code", "code": "x", **provider_client.assertion_form()},
    )
    assert right.status_code == 429 and right["Content-Type"] == "application/problem+json"
    assert int(right["Retry-After"]) > 0
    assert SecurityEvent.objects.filter(kind=Kind.CLIENT_AUTH_FAILED).count() == failures


def test_wrong_client_secrets_lock_every_client_authenticated_endpoint(
    provider_client: ProviderClient, settings: Any
) -> None:
    settings.TAHTO_CLIENT_AUTH_FAILURES = "3/900"
    wrong = ProviderClient(provider_client.provider, provider_client.client_id, "guess")
    guesses = [
        Client().post("/o/introspect/", {"token": "t", **wrong.assertion_form()}),
        Client().get("/api/v1/webhooks", HTTP_AUTHORIZATION=wrong.auth_header),
        Client().post(
            "/o/introspect/", {"token": "t", "client_id": wrong.client_id, "client_secret": "g"}
        ),
    ]
    assert [g.status_code for g in guesses] == [401, 401, 401]
    for path in (
        "/api/v1/webhooks",
        "/api/v1/consent-requests/00000000-0000-0000-0000-000000000000",
    ):
        locked = Client().get(path, HTTP_AUTHORIZATION=provider_client.auth_header)
        assert locked.status_code == 429, path
        assert locked.json()["code"] == "too-many-requests" and int(locked["Retry-After"]) > 0
    # another client is not affected
    assert Client().get("/api/v1/webhooks", HTTP_AUTHORIZATION="Basic eDp5").status_code == 401


def test_token_requests_are_rate_limited_per_client(
    provider_client: ProviderClient, frozen_now: datetime, settings: Any
) -> None:
    settings.TAHTO_TOKEN_RATE = "5/60"
    statuses = [
        Client()
        .post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": "no-such-code",
                **provider_client.assertion_form(),
            },
        )
        .status_code
        for _ in range(7)
    ]
    assert statuses == [400] * 5 + [429] * 2


def test_requests_for_unknown_identity_codes_create_no_person_records(
    provider_client: ProviderClient, frozen_now: datetime
) -> None:
    people = Person.objects.count()
    for individual in range(910, 920):
        code = make_hetu(date(1970, 1, 1), individual)
        answer = Client().post(
            "/api/v1/consent-requests",
            consent_request_body(code, frozen_now),
            content_type="application/json",
            HTTP_AUTHORIZATION=provider_client.auth_header,
        )
        assert answer.status_code == 201
    assert Person.objects.count() == people


def test_an_oversized_body_gets_413_problem_json(provider_client: ProviderClient) -> None:
    twenty_mb = b'{"kind": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    for path in ("/api/v1/consent-requests", "/api/v1/me/consents", "/o/token/"):
        answer = Client().post(
            path,
            twenty_mb,
            content_type="application/json",
            HTTP_AUTHORIZATION=provider_client.auth_header,
        )
        assert answer.status_code == 413, path
        assert answer["Content-Type"] == "application/problem+json"
        assert answer.json()["code"] == "body-too-large"
        assert str(2_621_440) in answer.json()["detail"]
