"""Counterpart endpoints and the transactional outbox of data flows.

An outbox item is written in the same transaction as the change that causes it (or by the
log follower, in the transaction that advances its cursor), so nothing is lost between a
commit and a task being enqueued. A payload waits here only until it is delivered, then it
is erased: the operator moves data, it does not keep copies.
"""

import uuid

from django.db import models
from django.db.models import Q


class Endpoint(models.Model):
    """Where a counterpart (a provider) receives pushed data or consent-change notifications."""

    class Kind(models.TextChoices):
        FHIR = "fhir", "FHIR R4 base URL for pushed data"
        WEBHOOK = "webhook", "Consent change notifications (signed, no health data)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation_id = models.CharField(max_length=128, help_text="The counterpart's OID")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    url = models.URLField(max_length=500)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation_id", "kind", "url"], name="endpoint_unique_url"
            )
        ]
        indexes = [models.Index(fields=["organisation_id", "kind"], name="endpoint_org_kind")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.kind} {self.url}"


class OutboxItem(models.Model):
    """One unit of work for one connector; claimed by compare-and-set, safe to run twice."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent (or retried after back-off)"
        SENDING = "sending", "Claimed by a worker"
        DONE = "done", "Delivered; the payload has been erased"
        DENIED = "denied", "Stopped: the consent no longer permits it at the moment of sending"
        PARKED = "parked", "Failed permanently; see last_error"

    id = models.BigAutoField(primary_key=True)
    connector = models.CharField(max_length=64, help_text="Which connector handles it")
    key = models.CharField(max_length=200, unique=True, help_text="Idempotency key")
    subject_id = models.UUIDField(null=True, blank=True)
    consent_lineage = models.UUIDField(null=True, blank=True)
    log_seq = models.BigIntegerField(null=True, blank=True, help_text="Log entry that caused it")
    payload = models.JSONField(null=True, blank=True, help_text="Erased once delivered")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="When a task was last sent for it (no duplicate sends)"
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["subject_id", "created_at"], name="outbox_subject"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="done") | Q(payload__isnull=True),
                name="outbox_done_holds_no_payload",
            )
        ]

    def __str__(self) -> str:
        return f"{self.connector} #{self.id} ({self.status})"


class LogCursor(models.Model):
    """How far a follower of the consent log has read (e.g. to notify Kanta and webhooks)."""

    name = models.CharField(max_length=64, primary_key=True)
    next_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.next_seq}"


class OfferDelivery(models.Model):
    """An unsolicited offer of services delivered to one citizen under their consent.

    Only offers that the citizen's needs-assessment consent covers are stored (and shown on
    the dashboard); the sender is never told who received one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject_id = models.UUIDField()
    sender = models.CharField(max_length=128, help_text="OID of the organisation that offers")
    consent_lineage = models.UUIDField(help_text="The needs-assessment consent that permitted it")
    log_seq = models.BigIntegerField(help_text="The log entry of the permitting decision")
    life_area = models.CharField(max_length=32)
    channel = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    body = models.TextField()
    delivered_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["subject_id", "delivered_at"], name="offer_subject")]
        verbose_name_plural = "offer deliveries"

    def __str__(self) -> str:
        return f"offer from {self.sender} to {self.subject_id}"
