"""Security events: failed sign-ins and step-ups, lockouts, requests cut off by a limit.

Kept apart from the consent log on purpose: these are about accounts and clients, not about
a consent, and anyone can cause them (an attacker typing names), so they must not grow the
append-only, tamper-evident log that regulators verify. Refusals (locked, rate-limited) are
written at the 1st, 10th, 100th, ... of a kind for a name within an hour, with the count
(`detail.refusals`), so a flood of refused requests cannot flood this table either.
"""

import uuid
from typing import Any

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
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


class DpopProofUse(models.Model):
    """A DPoP proof's `jti` for one key (RFC 9449 §11.1), kept until the proof is too old."""

    jkt = models.CharField(max_length=64)
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "provider_api_dpopproofuse"  # made by provider_api; moved here with DPoP
        constraints = [models.UniqueConstraint(fields=["jkt", "jti"], name="dpop_jti_once")]

    def __str__(self) -> str:
        return f"dpop jti {self.jti}"


class CitizenAppAuthorization(models.Model):
    """A citizen's authorization of one of their own apps (an OAuth client of the citizen-app
    kind) to use the citizen API for them, with the scopes they approved. Not bound to a
    consent (provider authorizations are, and live in provider_api's tables: the two never
    share a row). Revoking it ends every token it yielded at once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="citizen_grants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="citizen_app_grants"
    )
    scopes = models.CharField(max_length=200, help_text="Space-separated: consents:read, ...")
    code_checksum = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 (hex) of the authorization code"
    )
    code_challenge = models.CharField(max_length=128, help_text="PKCE S256 challenge")
    redirect_uri = models.CharField(max_length=500)
    code_expires_at = models.DateTimeField()
    code_used_at = models.DateTimeField(null=True, blank=True)
    step_up_at = models.DateTimeField(help_text="When the citizen last proved who they are")
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"app {self.application_id} for user {self.user_id}"


class CitizenAppToken(models.Model):
    """An access or refresh token of a citizen app, kept only as its SHA-256, DPoP-bound."""

    class Kind(models.TextChoices):
        ACCESS = "access", "Access token"
        REFRESH = "refresh", "Refresh token"

    token_checksum = models.CharField(max_length=64, primary_key=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    authorization = models.ForeignKey(
        CitizenAppAuthorization, on_delete=models.CASCADE, related_name="tokens"
    )
    jkt = models.CharField(max_length=64, help_text="RFC 7638 thumbprint of the DPoP key")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True, help_text="A refresh token: used")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} token of {self.authorization_id}"


class UserSession(AbstractBaseSession):
    """A browser session, stored as Django's database engine stores it, plus the user it is
    signed in as (`SESSION_ENGINE` is `mydata_operator.security.session_store`). Django's own
    table has no such column, so ending every session of one user (staff turning an account
    off) would have to decode every stored session; here only that user's rows are read."""

    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "session"

    @classmethod
    def get_session_store_class(cls) -> type[Any]:
        from .session_store import SessionStore

        return SessionStore
