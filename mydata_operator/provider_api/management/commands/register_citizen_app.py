"""Register a citizen's own app (ClientProfile.kind citizen-app): a public client (PKCE S256
and DPoP, no secret), or, with --jwks, one that authenticates with private_key_jwt. Its
tokens work on the citizen API (/api/v1/me/...) only. Safe to run again for the same id.

Redirect URIs: exact https, or what RFC 8252 gives native apps: the app's own scheme, a reverse
domain name (`fi.example.app:/callback`), or loopback `http://127.0.0.1:{port}/path` /
`http://[::1]:{port}/path` (any port at authorize). `localhost` and other http are refused
(`security.citizen_apps.redirect_uri_problem` says why)."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import Application

from mydata_operator.provider_api.client_keys import client_keys_register
from mydata_operator.provider_api.models import ClientProfile
from mydata_operator.security.citizen_apps import redirect_uri_problem


class Command(BaseCommand):
    help = (
        "Register a citizen app: its name, redirect URIs (https, its own reverse-domain scheme, "
        "or http://127.0.0.1 / http://[::1]), and optionally its keys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_id", help="The app's client id")
        parser.add_argument("--name", required=True, help="Shown to citizens at authorize")
        parser.add_argument("--redirect-uri", action="append", required=True)
        parser.add_argument("--jwks", type=Path, help="Public JWK Set: a confidential app")
        parser.add_argument("--demo", action="store_true", help="A demo app (ClientProfile.demo)")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        client_id = options["client_id"]
        app = Application.objects.filter(client_id=client_id).first()
        if app is not None:
            profile = ClientProfile.objects.filter(application=app).first()
            if profile is None or profile.kind != ClientProfile.Kind.CITIZEN_APP:
                raise CommandError(f"{client_id} is a provider's client, not a citizen app.")
            self.stdout.write(f"client_id={client_id} (already registered)\n")
            return
        for uri in options["redirect_uri"]:
            if problem := redirect_uri_problem(uri):
                raise CommandError(f"redirect URI {uri!r} is refused: {problem}")
        app = Application.objects.create(
            client_id=client_id,
            client_secret=generate_client_secret(),  # DOT wants one; never used or shown
            name=options["name"],
            client_type=Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=" ".join(options["redirect_uri"]),
            algorithm="",
        )
        ClientProfile.objects.create(
            application=app, demo=options["demo"], kind=ClientProfile.Kind.CITIZEN_APP
        )
        if options["jwks"]:
            try:
                client_keys_register(application=app, jwks=json.loads(options["jwks"].read_text()))
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(f"client_id={client_id}\n")
