"""Helpers of the dashboard tests: a signed-in citizen's test client."""

from typing import Any

import pytest
from django.test import Client

from mydata_operator.identity.models import Person


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
