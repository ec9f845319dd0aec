"""Security events: failed sign-ins and step-ups, lockouts, requests cut off by a limit.

Kept apart from the consent log on purpose: these are about accounts and clients, not about
a consent, and anyone can cause them (an attacker typing names), so they must not grow the
append-only, tamper-evident log that regulators verify. Refusals (locked, rate-limited) are
written at the 1st, 10th, 100th, ... of a kind for a name within an hour, with the count
(`detail.refusals`), so a flood of refused requests cannot flood this table either.
"""

from django.db import models


class SecurityEvent(models.Model):
    class Kind(models.TextChoices):
        LOGIN_FAILED = "login.failed", "A sign-in failed: wrong user name or password"
        LOGIN_LOCKED = "login.locked", "A sign-in was refused: too many failures, locked for now"
        STEP_UP_FAILED = "step-up.failed", "A step-up (password or one-time code) failed"
        STEP_UP_LOCKED = "step-up.locked", "A step-up was refused: too many failures"
        CLIENT_AUTH_FAILED = "client.auth-failed", "A provider client failed to authenticate"
        RATE_LIMITED = "rate.limited", "A request was refused with 429: a limit was reached"

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    who = models.CharField(
        max_length=150, blank=True, help_text="The user name or client id given (unverified)"
    )
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "at"], name="security_event_kind_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.who}"
