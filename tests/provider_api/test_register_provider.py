"""manage.py register_provider: a confidential client bound to an organisation."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from oauth2_provider.models import Application

from mydata_operator.identity.models import Provider
from mydata_operator.provider_api.auth import client_authenticate


def register(*extra: str) -> dict[str, str]:
    out = StringIO()
    call_command(
        "register_provider",
        "--organisation-id=1.2.246.10.1111111.10.0",
        "--name=Uusi Klinikka",
        "--kind=care-provider",
        "--redirect-uri=https://klinikka.example/cb",
        *extra,
        stdout=out,
        stderr=StringIO(),
    )
    return dict(line.split("=", 1) for line in out.getvalue().split())


def test_register_provider_prints_credentials_that_work_once_stored_hashed(db: object) -> None:
    creds = register()
    app = Application.objects.get(client_id=creds["client_id"])
    assert app.client_type == Application.CLIENT_CONFIDENTIAL
    assert app.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert app.redirect_uris == "https://klinikka.example/cb"
    assert creds["client_secret"] not in app.client_secret
    principal = client_authenticate(creds["client_id"], creds["client_secret"])
    assert principal is not None and principal.organisation_id == "1.2.246.10.1111111.10.0"
    assert Provider.objects.get(application=app).kind == "care-provider"


def test_registering_the_same_organisation_twice_fails(db: object) -> None:
    register()
    with pytest.raises(CommandError, match="already registered"):
        register()


def test_redirect_uri_with_a_fragment_is_refused(db: object) -> None:
    with pytest.raises(CommandError):
        register("--redirect-uri=https://klinikka.example/cb#x")
