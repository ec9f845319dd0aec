"""Register a provider as a confidential OAuth client and print its credentials once."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from oauth2_provider.generators import generate_client_id, generate_client_secret
from oauth2_provider.models import Application
from oauth2_provider.validators import AllowedURIValidator

from mydata_operator.identity.models import Provider


class Command(BaseCommand):
    help = (
        "Register a provider (organisation OID, kind, exact redirect URIs) as a confidential "
        "OAuth client for the authorization-code grant with PKCE; prints client_id and "
        "client_secret once (only a hash of the secret is kept)."
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
        secret = generate_client_secret()
        app = Application.objects.create(
            client_id=client_id,
            client_secret=secret,  # DOT hashes it on save
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
        self.stdout.write(f"client_id={client_id}\nclient_secret={secret}\n")
        self.stderr.write("Store the secret now: it is not shown again.")
