"""`manage.py verify_log`: check the whole stored consent log, the consents and receipts."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mydata_operator.regulator.integrity import integrity_check_run


class Command(BaseCommand):
    help = (
        "Verify the stored consent log: recompute every leaf hash, searchable column and "
        "subtree node from the entries, check every signed tree head's root and signature, "
        "the consistency between consecutive signed tree heads, the log against every "
        "checkpoint a witness cosigned, every consent's state replayed from the log, every "
        "receipt against its entry, and the daily counts the statistics read against the "
        "entries. The result is stored and logged (as the periodic check's is). Exit status 1 "
        "when anything fails."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--skip-consistency",
            action="store_true",
            help="do not make and check consistency proofs between consecutive tree heads",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        result = integrity_check_run(
            source="verify_log", check_consistency=not options["skip_consistency"]
        )
        if not result.ok:
            raise CommandError("\n".join(result.problems), returncode=1)
        if result.tree_heads == 0:
            self.stdout.write(
                "note: no signed tree head is stored yet; only the entries were checked"
            )
        if result.witnessed_size is None:
            self.stdout.write("note: no witness has cosigned a checkpoint yet")
        self.stdout.write(
            self.style.SUCCESS(
                f"verified {result.entries} entries, {result.tree_heads} signed tree heads, "
                f"{result.consents} consents, {result.receipts} receipts and "
                f"{result.daily_counts} daily counts"
                + (
                    f" against the checkpoint of size {result.witnessed_size} a witness cosigned"
                    if result.witnessed_size is not None
                    else ""
                )
                + f" in {time.monotonic() - started:.1f} s"
            )
        )
