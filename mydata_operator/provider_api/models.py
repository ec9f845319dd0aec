"""How an OAuth authorization, and every token it yields, is bound to one consent.

django-oauth-toolkit has no rich authorization requests (RFC 9396), so the binding lives
here, beside its models rather than inside them: a `ConsentAuthorization` is made when the
citizen approves at the authorize page (keyed by the SHA-256 of the authorization code), and
each access or refresh token issued from it gets a `TokenBinding` keyed by the SHA-256 of the
token (DOT stores the same checksum, and with hashed token storage only that).
"""

import uuid

from django.db import models


class ConsentAuthorization(models.Model):
    """The citizen's authorization of one provider client to use one consent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consent_lineage = models.UUIDField(
        db_index=True, help_text="The consent (its lineage id: the consentId the provider knows)"
    )
    consent_version = models.PositiveIntegerField(help_text="Version in force when authorized")
    subject_id = models.UUIDField(help_text="Whose data the consent is about")
    organisation_id = models.CharField(max_length=128, help_text="OID of the provider")
    client_id = models.CharField(max_length=100, help_text="OAuth client id of the provider")
    authorized_by = models.UUIDField(help_text="The person who authorized (subject or agent)")
    authorization_details = models.JSONField(help_text="RFC 9396 authorization_details, as asked")
    code_checksum = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 (hex) of the authorization code"
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.client_id} on consent {self.consent_lineage}"


class TokenBinding(models.Model):
    """One access or refresh token issued under a consent authorization."""

    class Kind(models.TextChoices):
        ACCESS = "access", "Access token"
        REFRESH = "refresh", "Refresh token"

    token_checksum = models.CharField(
        max_length=64, primary_key=True, help_text="SHA-256 (hex) of the token, as DOT keeps it"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    authorization = models.ForeignKey(
        ConsentAuthorization, on_delete=models.CASCADE, related_name="tokens"
    )
    created_at = models.DateTimeField()
    jkt = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="RFC 7638 thumbprint of the DPoP key the token is bound to (RFC 9449 cnf.jkt)",
    )
    # DOT's access token of the same checksum, as a join without a column or a constraint
    # (a refresh token's binding has none, and a revoked token's row is deleted): lets the
    # bearer check read token, client, provider and consent binding in one indexed query.
    access_token = models.ForeignObject(
        "oauth2_provider.AccessToken",
        on_delete=models.DO_NOTHING,
        from_fields=["token_checksum"],
        to_fields=["token_checksum"],
        null=True,
        blank=True,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"{self.kind} token of {self.authorization_id}"


class PendingConsentRequest(models.Model):
    """A provider's consent request that names no citizen: whoever authorizes it becomes
    its subject. Until then it is not a consent (the core knows only consents of a person);
    at approval a consent is requested and approved for that person in one transaction."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation_id = models.CharField(max_length=128, help_text="OID of the provider")
    kind = models.CharField(max_length=32)
    scope = models.JSONField(help_text="The scope asked for (checked against its kind's schema)")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField()
    request_expires_at = models.DateTimeField()
    consent_lineage = models.UUIDField(
        null=True, blank=True, unique=True, help_text="The consent it became, once authorized"
    )
    terminated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"pending {self.kind} request of {self.organisation_id}"


class ClientKey(models.Model):
    """A public key a provider client registered to sign its JWTs (private_key_jwt client
    assertions, CDS Hooks requests). Retired keys stay for the record but verify nothing."""

    application = models.ForeignKey(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="tahto_keys"
    )
    kid = models.CharField(max_length=200, help_text="Key id (RFC 7638 thumbprint if not given)")
    jwk = models.JSONField(help_text="The public JWK (never private material)")
    created_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "kid"], name="client_key_unique_kid")
        ]

    def __str__(self) -> str:
        return f"key {self.kid} of client {self.application_id}"


class ClientJwtUse(models.Model):
    """A client JWT's `jti`, kept until the JWT expires so that a replay is refused."""

    application = models.ForeignKey("oauth2_provider.Application", on_delete=models.CASCADE)
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "jti"], name="client_jwt_jti_once")
        ]

    def __str__(self) -> str:
        return f"jti {self.jti}"


class ClientProfile(models.Model):
    """What this service allows a provider client beyond DOT's Application fields.

    `demo`: the client of a demo provider (made by demo_data or `register_provider --demo`):
    it may use an http loopback redirect URI. Every other client must use https. No client
    gets loopback port relaxation: redirect URIs match exactly.

    `kind`: a provider client gets consent-bound tokens at /o/token/ for the provider API; a
    citizen app gets tokens at /o/apps/token for the citizen API (/api/v1/me/...). Each token
    endpoint and each API accepts only its own kind."""

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="tahto_profile"
    )

    class Kind(models.TextChoices):
        PROVIDER = "provider", "A provider's client: consent-bound tokens for its data API"
        CITIZEN_APP = "citizen-app", "A citizen's own app: the citizen API, for that citizen"

    demo = models.BooleanField(
        default=False, help_text="A demo client: http://127.0.0.1 redirect URIs allowed"
    )
    kind = models.CharField(
        max_length=16,
        choices=Kind.choices,
        default=Kind.PROVIDER,
        help_text="Which tokens the client may get; a client is one kind, never both",
    )

    def __str__(self) -> str:
        return f"profile of client {self.application_id}"


class PushedAuthorizationRequest(models.Model):
    """An authorization request a client pushed (RFC 9126), usable once, briefly, by it only.

    `used_by` is the citizen whose authorize page consumed it; the approval (POST) must come
    from the same citizen, and `completed_at` closes it."""

    reference_checksum = models.CharField(
        max_length=64, primary_key=True, help_text="SHA-256 (hex) of the request_uri"
    )
    client_id = models.CharField(max_length=100, help_text="OAuth client id that pushed it")
    parameters = models.JSONField(help_text="The authorization request parameters, as pushed")
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.IntegerField(null=True, blank=True, help_text="User id of the citizen")
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"pushed request of {self.client_id}"
