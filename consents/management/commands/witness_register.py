"""`manage.py witness_register VKEY`: accept cosignatures from a regulator's witness."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from consents.errors import ConsentError
from consents.witnesses import witness_register


class Command(BaseCommand):
    help = (
        "Register a witness by the verifier key it printed (`tahto_verify.py witness-key`): "
        "<name>+<hex key id>+<base64 key> of type 0x04. Cosignatures by unregistered keys are "
        "refused. Idempotent."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("vkey", help="the witness's verifier key")
        parser.add_argument("--label", default="", help="who runs the witness, in words")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            witness = witness_register(vkey=options["vkey"], label=options["label"])
        except ConsentError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"registered witness {witness}")
