"""Give every demo provider client a key pair: the private JWK is written under
TAHTO_KEY_DIR/clients/<client_id>.jwk (mode 0600) and its public half registered; the client
is marked as a demo client (ClientProfile.demo: its http://127.0.0.1 redirect URI is allowed).
Safe to run twice: an existing key file is reused."""

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from joserfc.jwk import ECKey
from oauth2_provider.models import Application

from mydata_operator.provider_api.client_keys import client_keys_register
from mydata_operator.provider_api.models import ClientProfile


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_ids", nargs="+", help="The demo clients' ids")
        parser.add_argument("--show", action="store_true", help="Print each private JWK path")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = settings.TAHTO_KEY_DIR / "clients"
        folder.mkdir(parents=True, exist_ok=True)
        for client_id in options["client_ids"]:
            app = Application.objects.get(client_id=client_id)
            path = folder / f"{client_id}.jwk"
            if path.exists():
                private = ECKey.import_key(json.loads(path.read_text()))
            else:
                private = ECKey.generate_key("P-256", private=True)
                data = dict(private.as_dict(private=True), kid="k1", alg="ES256")
                path.touch(mode=0o600)
                path.write_text(json.dumps(data, indent=1))
            public = dict(private.as_dict(private=False), kid="k1", alg="ES256")
            client_keys_register(application=app, jwks={"keys": [public]})
            ClientProfile.objects.update_or_create(application=app, defaults={"demo": True})
            if options["show"]:
                self.stdout.write(f"{client_id}: private key in {path}")
