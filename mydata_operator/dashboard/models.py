"""The dashboard's own data: a person's optional one-time-code authenticator (TOTP)."""

from django.conf import settings
from django.db import models


class TotpDevice(models.Model):
    """An authenticator app (RFC 6238 TOTP) a person enrolled for step-up.

    Once confirmed, step-up asks for its 6-digit code instead of the password.
    `last_counter` refuses a code that was already used (no replay within its 30 s).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    secret = models.CharField(max_length=64, help_text="Base32 shared secret (RFC 4648)")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_counter = models.BigIntegerField(default=-1)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"authenticator of user {self.user_id}"
