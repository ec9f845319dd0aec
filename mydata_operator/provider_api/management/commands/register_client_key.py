"""Register a provider client's public signing keys (a JWK Set), e.g. for the CDS Hooks
decision service or private_key_jwt client authentication."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from oauth2_provider.models import Application

from mydata_operator.provider_api.client_keys import client_keys_register


class Command(BaseCommand):
    help = (
        "Register the public keys of a JWK Set file for a provider's OAuth client; a private "
        "key is refused. Prints the key ids."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", required=True, help="The provider's client id")
        parser.add_argument("--jwks", required=True, help='A JSON file: {"keys": [JWK, ...]}')

    def handle(self, *args: Any, **options: Any) -> None:
        app = Application.objects.filter(client_id=options["client_id"]).first()
        if app is None:
            raise CommandError(f"No client {options['client_id']!r}; register_provider first.")
        try:
            jwks = json.loads(Path(options["jwks"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read the JWK Set: {exc}") from None
        try:
            keys = client_keys_register(application=app, jwks=jwks)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for key in keys:
            self.stdout.write(f"kid={key.kid}")
