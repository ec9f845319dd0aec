"""`manage.py verify_log`: check the whole stored consent log from its entries up."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mydata_operator.regulator.integrity import LogVerificationFailed, verify_stored_log


class Command(BaseCommand):
    help = (
        "Verify the stored consent log: recompute every leaf hash and subtree node from the "
        "entries, check every signed tree head's root and signature, and the consistency "
        "between consecutive signed tree heads. Exit status 1 when anything fails."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--skip-consistency",
            action="store_true",
            help="do not make and check consistency proofs between consecutive tree heads",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            report = verify_stored_log(check_consistency=not options["skip_consistency"])
        except LogVerificationFailed as exc:
            raise CommandError(str(exc), returncode=1) from None
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        self.stdout.write(
            self.style.SUCCESS(
                f"verified {report.entries} entries, {report.nodes} subtree nodes, "
                f"{report.tree_heads} signed tree heads and {report.consistency_proofs} "
                f"consistency proofs in {time.monotonic() - started:.1f} s"
            )
        )
