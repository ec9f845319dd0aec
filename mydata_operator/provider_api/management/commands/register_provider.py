"""Register a provider as a FAPI 2.0 OAuth client: its public keys for private_key_jwt (from
--jwks, or a key pair made here whose private half is printed once)."""

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from joserfc.jwk import ECKey
from oauth2_provider.generators import generate_client_id, generate_client_secret
from oauth2_provider.models import Application
from oauth2_provider.validators import AllowedURIValidator

from mydata_operator.identity.models import Provider
from mydata_operator.provider_api.client_keys import client_keys_register
from mydata_operator.provider_api.fapi import redirect_uri_registered
from mydata_operator.provider_api.models import ClientProfile


class Command(BaseCommand):
    help = (
        "Register a provider (organisation OID, kind, exact redirect URIs) as a confidential "
        "OAuth client (PAR, PKCE S256, private_key_jwt, DPoP); registers the public keys of "
        "--jwks, or makes an ES256 key pair and prints its private JWK once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation-id", required=True, help="The organisation's OID")
        parser.add_argument("--name", required=True, help="Display name shown to citizens")
        parser.add_argument("--kind", required=True, choices=Provider.Kind.values)
        parser.add_argument(
            "--redirect-uri",
            action="append",
            required=True,
            help="An exact redirect URI (repeat for several); no wildcards",
        )
        parser.add_argument("--client-id", help="Client id to use (default: generated)")
        parser.add_argument("--jwks", type=Path, help="A JSON file: the client's public JWK Set")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="A demo client (ClientProfile.demo): http://127.0.0.1 redirect URIs allowed",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        oid = options["organisation_id"]
        existing = Provider.objects.filter(organisation_id=oid).first()
        if existing is not None and existing.application_id is not None:
            raise CommandError(f"{oid} is already registered (client {existing.application}).")
        validator = AllowedURIValidator(
            schemes=["https", "http"], name="redirect uri", allow_path=True, allow_query=True
        )
        for uri in options["redirect_uri"]:
            try:
                validator(uri)
            except ValidationError as exc:
                raise CommandError(f"{uri}: {' '.join(exc.messages)}") from exc
        client_id = options["client_id"] or generate_client_id()
        if Application.objects.filter(client_id=client_id).exists():
            raise CommandError(f"The client id {client_id} is taken.")
        app = Application.objects.create(
            client_id=client_id,
            # DOT wants a secret; FAPI clients never use one (private_key_jwt only), so it
            # is random, kept hashed, and shown to no one.
            client_secret=generate_client_secret(),
            name=options["name"],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=" ".join(options["redirect_uri"]),
            algorithm="",
        )
        if existing is None:
            Provider.objects.create(
                organisation_id=oid, name=options["name"], kind=options["kind"], application=app
            )
        else:
            existing.application = app
            existing.save(update_fields=["application"])
        ClientProfile.objects.create(application=app, demo=options["demo"])
        for uri in options["redirect_uri"]:
            if not redirect_uri_registered(app, uri):
                raise CommandError(f"{uri}: use https (http only on loopback, for --demo)")
        private = None
        if options["jwks"]:
            jwks = json.loads(options["jwks"].read_text())
        else:
            private = ECKey.generate_key("P-256", private=True)
            jwks = {"keys": [dict(private.as_dict(private=False), kid="k1", alg="ES256")]}
        try:
            keys = client_keys_register(application=app, jwks=jwks)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"client_id={client_id}\nkid={keys[0].kid}\n")
        if private is not None:
            jwk = dict(private.as_dict(private=True), kid="k1", alg="ES256")
            self.stdout.write(f"private_jwk={json.dumps(jwk, separators=(',', ':'))}\n")
            self.stderr.write("Store the private key now: it is not shown again.")
