"""Helpers of the dashboard tests: a signed-in citizen's test client."""

from typing import Any

import pytest
from django.test import Client

from mydata_operator.identity.models import Person, Provider
from tests.conftest import BIOBANK_OID, COUNTY_OID, PROVIDER_OID


def signed_in(person: Person, *, csrf: bool = False) -> Client:
    """A client signed in as `person`. `force_login` sends user_logged_in like the login
    form does (so the step-up clock starts), without hashing a password in every test."""
    client = Client(enforce_csrf_checks=csrf)
    assert person.user is not None
    client.force_login(person.user)
    if csrf:
        client.get("/consents/")  # sets the CSRF cookie, as a browser would have it
    return client


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    """The personas' passwords are hashed in every test; a fast hasher keeps these tests
    quick. Password checking itself (step-up) works the same with any hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def providers(db: Any) -> None:
    from oauth2_provider.models import Application

    app = Application.objects.create(
        client_id="tahto-demo-wellbeing-app",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        name="Demo wellbeing app",
    )
    Provider.objects.create(organisation_id=PROVIDER_OID, name="Terveys Oy", kind="care-provider")
    Provider.objects.create(
        organisation_id=COUNTY_OID, name="Demo hyvinvointialue", kind="wellbeing-county"
    )
    Provider.objects.create(organisation_id=BIOBANK_OID, name="Demo Biopankki", kind="biobank")
    Provider.objects.create(
        organisation_id="1.2.246.10.5555555.10.0",
        name="Hyvinvointisovellus",
        kind="wellbeing-app",
        application=app,
    )
