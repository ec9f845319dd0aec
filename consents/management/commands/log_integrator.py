"""Run the log's integrator: give committed entries their leaf indexes and sign new heads."""

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consents.log import log_integrate, log_integrator_run


class Command(BaseCommand):
    help = (
        "Integrate committed log entries into the Merkle tree and sign each new head; runs "
        "until stopped (only one integrator works at a time, others wait their turn)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--poll",
            type=float,
            default=0.1,
            help="Seconds to wait when nothing is pending (bounds the merge delay; default 0.1)",
        )
        parser.add_argument("--once", action="store_true", help="Integrate what is pending, exit")

    def handle(self, *args: Any, poll: float, once: bool, **options: Any) -> None:
        if not poll > 0:
            raise CommandError(f"--poll must be a positive number of seconds, got {poll}")
        if once:
            self.stdout.write(f"integrated {log_integrate()} entries")
            return
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log_integrator_run(poll=poll, stop=lambda: stopping)
