"""Browser and session protections: CSP, HSTS, cookie flags, session timeouts, no-store on
every page with personal data (docs/security.md, "Browser and session")."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from consents.models import Consent
from mydata_operator.identity.models import Person, Regulator
from mydata_operator.security.models import UserSession
from mydata_operator.security.sessions import sessions_end_for_user
from mydata_operator.security.tasks import sessions_clear_expired_task
from tests.conftest import grant
from tests.provider_api.conftest import ProviderClient, authorize_params, pkce, pushed_query

ROOT = Path(__file__).resolve().parents[2]


def signed_in(user: Any, **headers: Any) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


@pytest.fixture
def staff(db: Any) -> Any:
    return get_user_model().objects.create_superuser("yllapito", password="yllapito-pass-1")


def personal_pages(
    citizen: Person, regulator: Regulator, consent: Consent, staff: Any, pc: ProviderClient
) -> list[tuple[str, Client, str]]:
    """(what, signed-in client, path) for each kind of page that shows personal data."""
    assert citizen.user is not None and regulator.user is not None
    aino = signed_in(citizen.user)
    _, challenge = pkce()
    query = pushed_query(pc, authorize_params(pc.client_id, consent.id, challenge))
    authorize = "/o/authorize/?" + urlencode(query)
    return [
        ("dashboard", aino, "/consents/"),
        ("dashboard consent", aino, f"/consents/{consent.id}/"),
        ("disclosures", aino, "/disclosures/"),
        ("citizen API", aino, "/api/v1/me/consents"),
        ("citizen API consent", aino, f"/api/v1/me/consents/{consent.id}"),
        ("regulator", signed_in(regulator.user), "/regulator/"),
        (
            "regulator search",
            signed_in(regulator.user),
            f"/regulator/?subject={citizen.personal_identity_code}",
        ),
        (
            "regulator API",
            signed_in(regulator.user),
            f"/regulator/api/entries?subject={citizen.personal_identity_code}",
        ),
        ("regulator statistics", signed_in(regulator.user), "/regulator/statistics/"),
        ("OAuth authorize page", aino, authorize),
        ("admin", signed_in(staff), f"/admin/identity/person/{citizen.id}/change/"),
    ]


@pytest.fixture
def pages(
    citizen: Person,
    regulator: Regulator,
    staff: Any,
    provider_client: ProviderClient,
    frozen_now: datetime,
) -> list[tuple[str, Client, str]]:
    from tests.provider_api.conftest import request_consent

    consent = request_consent(citizen, frozen_now)
    return personal_pages(citizen, regulator, consent, staff, provider_client)


def test_every_page_with_personal_data_says_no_store(pages: Any) -> None:
    for what, client, path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, (what, answer.status_code)
        assert "no-store" in answer["Cache-Control"], what


def test_public_documents_keep_their_own_caching(db: Any) -> None:
    assert Client().get("/.well-known/jwks.json")["Cache-Control"] == "public, max-age=300"


def test_every_page_has_a_strict_content_security_policy(pages: Any) -> None:
    for what, client, path in [*pages, ("sign-in", Client(), "/accounts/login/")]:
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
        assert directives["script-src"] == "'self'", what
        assert directives["style-src"] == "'self'", what
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, what


def test_pages_carry_no_inline_script_or_style(pages: Any) -> None:
    for what, client, path in pages:
        html = client.get(path).content.decode()
        assert "<style" not in html and " style=" not in html, what
        for tag in html.split("<script")[1:]:
            opening = tag.split(">", 1)[0]
            assert "src=" in opening or 'type="application/json"' in opening, (what, opening)


def test_the_api_docs_load_their_script_from_a_file(db: Any) -> None:
    html = Client().get("/api/docs/").content.decode()
    assert '<script src="/api/docs/?script=' in html or "?script=" in html


def test_hsts_is_sent_over_https_only(db: Any) -> None:
    over_https = Client().get("/healthz", secure=True)
    assert over_https["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert not Client().get("/healthz").has_header("Strict-Transport-Security")


def test_cookies_are_httponly_and_samesite_and_secure_when_configured(
    citizen: Person, settings: Any
) -> None:
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    client = Client()
    client.get("/accounts/login/")
    answer = client.post("/accounts/login/", {"username": "aino", "password": "aino-pass-1"})
    assert answer.status_code == 302
    for name in ("sessionid", "csrftoken"):
        morsel = answer.cookies[name]
        assert morsel["secure"] is True and morsel["httponly"] is True, name
        assert morsel["samesite"] == "Lax", name


def production_settings(**env: str) -> dict[str, Any]:
    """The settings a process started with `env` ends up with."""
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k, None) for k in ("
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'LANGUAGE_COOKIE_SECURE', "
        "'SESSION_COOKIE_HTTPONLY', 'CSRF_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', "
        "'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER', 'TAHTO_WEBHOOK_ALLOW_LOOPBACK')}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TAHTO_", "DJANGO_SECURE"))}
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "mydata_operator.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_deployment_on_https_gets_secure_cookies_by_default(tmp_path: Path) -> None:
    deployed = production_settings(
        TAHTO_PUBLIC_URL="https://tahto.example.fi", TAHTO_VAR_DIR=str(tmp_path)
    )
    assert deployed["SESSION_COOKIE_SECURE"] is True
    assert deployed["CSRF_COOKIE_SECURE"] is True and deployed["LANGUAGE_COOKIE_SECURE"] is True
    assert deployed["SESSION_COOKIE_HTTPONLY"] and deployed["CSRF_COOKIE_HTTPONLY"]
    assert deployed["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert deployed["SECURE_HSTS_SECONDS"] >= 31536000
    assert deployed["TAHTO_WEBHOOK_ALLOW_LOOPBACK"] is False
    # even a public URL mistakenly on http gets Secure cookies: only loopback http is exempt
    assert production_settings(
        TAHTO_PUBLIC_URL="http://tahto.example.fi", TAHTO_VAR_DIR=str(tmp_path)
    )["SESSION_COOKIE_SECURE"]
    demo = production_settings(TAHTO_VAR_DIR=str(tmp_path))
    assert demo["SESSION_COOKIE_SECURE"] is False  # the embedded http demo on 127.0.0.1
    behind_proxy = production_settings(
        TAHTO_TRUST_X_FORWARDED_PROTO="1", TAHTO_VAR_DIR=str(tmp_path)
    )
    assert behind_proxy["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_an_idle_session_ends(citizen: Person, frozen_now: datetime, settings: Any) -> None:
    assert citizen.user is not None
    client = signed_in(citizen.user)
    assert client.get("/consents/").status_code == 200
    idle = timedelta(seconds=settings.TAHTO_SESSION_IDLE_SECONDS + 1)
    with time_machine.travel(frozen_now + idle, tick=False):
        answer = client.get("/consents/")
        assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
        assert client.get("/api/v1/me/consents").status_code in (401, 403)


def test_an_active_session_ends_at_the_absolute_timeout(
    citizen: Person, frozen_now: datetime, settings: Any
) -> None:
    assert citizen.user is not None
    client = signed_in(citizen.user)
    step = timedelta(seconds=settings.TAHTO_SESSION_IDLE_SECONDS // 2)
    at = frozen_now
    end = frozen_now + timedelta(seconds=settings.TAHTO_SESSION_ABSOLUTE_SECONDS)
    while at + step < end:  # active all the time: never idle
        at += step
        with time_machine.travel(at, tick=False):
            assert client.get("/consents/").status_code == 200, at
    with time_machine.travel(end + timedelta(seconds=1), tick=False):
        assert client.get("/consents/").status_code == 302


def test_consents_are_not_lost_when_a_session_ends(
    citizen: Person, frozen_now: datetime, settings: Any
) -> None:
    consent = grant(citizen, "provider-sharing")
    assert citizen.user is not None
    client = signed_in(citizen.user)
    idle = timedelta(seconds=settings.TAHTO_SESSION_IDLE_SECONDS + 1)
    with time_machine.travel(frozen_now + idle, tick=False):
        client.post(f"/consents/{consent.id}/withdraw/", {"step_up_password": "aino-pass-1"})
    consent.refresh_from_db()
    assert consent.status == "active"  # a request after the timeout changes nothing


def test_a_session_records_the_user_it_is_signed_in_as(
    citizen: Person, family: Any, frozen_now: datetime
) -> None:
    assert citizen.user is not None and family.guardian.user is not None
    aino, liisa = signed_in(citizen.user), signed_in(family.guardian.user)
    assert aino.get("/consents/").status_code == 200
    assert liisa.get("/consents/").status_code == 200
    assert UserSession.objects.get(session_key=aino.session.session_key).user_id == citizen.user.pk
    aino.post("/accounts/logout/")
    assert not UserSession.objects.filter(user_id=citizen.user.pk).exists()

    aino = signed_in(citizen.user)
    assert sessions_end_for_user(user_id=citizen.user.pk) == 1
    assert aino.get("/consents/").status_code == 302  # signed out
    assert liisa.get("/consents/").status_code == 200  # another user's session stays


def test_expired_sessions_are_cleared_and_live_ones_kept(
    citizen: Person, family: Any, frozen_now: datetime, settings: Any
) -> None:
    assert citizen.user is not None and family.guardian.user is not None
    signed_in(citizen.user)
    with time_machine.travel(frozen_now + timedelta(hours=1), tick=False):
        liisa = signed_in(family.guardian.user)
    later = frozen_now + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    with time_machine.travel(later, tick=False):
        assert sessions_clear_expired_task.apply().get() == 1
        assert list(UserSession.objects.values_list("session_key", "user_id")) == [
            (liisa.session.session_key, family.guardian.user.pk)
        ]
