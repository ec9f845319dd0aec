"""Consent metadata, mandates and the append-only consent log.

No payload of health data is ever stored here: only consents, their history and the log.
"""

import uuid

from django.db import models
from django.db.models import F, Q

from .events import EventType
from .states import Kind, Provision, Status


class Notice(models.Model):
    """The exact notice text shown to a person when they gave or approved a consent."""

    sha256 = models.CharField(
        max_length=64, primary_key=True, help_text="SHA-256 of the UTF-8 text"
    )
    text = models.TextField()
    language = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.language}:{self.sha256[:12]}"


class Consent(models.Model):
    """One version of a consent. A change makes a new version; the old one becomes superseded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lineage = models.UUIDField(
        db_index=True, help_text="Id of the first version; stays the same across versions"
    )
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    schema = models.CharField(max_length=64, help_text="JSON Schema the scope conforms to")
    subject_id = models.UUIDField(help_text="The person whose data and will this is")
    provision = models.CharField(max_length=8, choices=Provision.choices, default=Provision.PERMIT)
    scope = models.JSONField(help_text="Kind-specific machine-readable scope")
    status = models.CharField(max_length=16, choices=Status.choices)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    requested_by = models.CharField(
        max_length=128, blank=True, help_text="Organisation id of the provider that asked for it"
    )
    request_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A request not answered by then expires"
    )
    notice = models.ForeignKey(Notice, null=True, blank=True, on_delete=models.PROTECT)
    granted_by = models.UUIDField(
        null=True, blank=True, help_text="Who gave it: the subject or a representative"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lineage", "version"], name="consent_lineage_version"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="consent_period_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="consent_status_known"
            ),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="consent_kind_known"),
            models.CheckConstraint(
                condition=Q(provision__in=Provision.values), name="consent_provision_known"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="consent_version_positive"),
        ]
        indexes = [
            models.Index(fields=["subject_id", "kind", "status"], name="consent_subject_kind"),
            models.Index(fields=["status", "valid_until"], name="consent_status_until"),
            models.Index(fields=["requested_by", "status"], name="consent_requester"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.lineage} v{self.version} ({self.status})"


class Mandate(models.Model):
    """A right to act on behalf of another person: a guardian for a child, or a given mandate."""

    class Basis(models.TextChoices):
        GUARDIAN = "guardian", "Guardian of a minor (ends when the child turns 18)"
        MANDATE = "mandate", "Mandate given by the principal (valtuutus)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    principal_id = models.UUIDField(help_text="The person who is represented")
    agent_id = models.UUIDField(help_text="The person who acts")
    basis = models.CharField(max_length=16, choices=Basis.choices)
    kinds = models.JSONField(
        default=list, blank=True, help_text="Consent kinds covered; empty: all"
    )
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(principal_id=F("agent_id")), name="mandate_not_self"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="mandate_period_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["agent_id", "principal_id"], name="mandate_agent"),
            models.Index(fields=["principal_id"], name="mandate_principal"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} for {self.principal_id} ({self.basis})"


class LogEntry(models.Model):
    """One leaf of the tamper-evident log. The database refuses UPDATE and DELETE.

    `entry` is the canonical JSON (RFC 8785) that was hashed; the other columns are copies
    of some of its fields, kept only so that the log can be searched.
    """

    seq = models.BigIntegerField(primary_key=True, help_text="Leaf index, from 0, no gaps")
    event_type = models.CharField(max_length=32, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    subject_id = models.UUIDField(null=True, blank=True)
    actor_id = models.UUIDField(null=True, blank=True)
    consent_id = models.UUIDField(null=True, blank=True)
    consent_lineage = models.UUIDField(null=True, blank=True)
    kind = models.CharField(max_length=32, blank=True)
    recipient = models.CharField(max_length=128, blank=True)
    purpose = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=8, blank=True)
    entry = models.TextField(help_text="Canonical JSON (RFC 8785) of the entry, as hashed")
    leaf_hash = models.BinaryField(max_length=32, help_text="SHA-256(0x00 || entry)")

    class Meta:
        verbose_name_plural = "log entries"
        indexes = [
            models.Index(fields=["subject_id", "seq"], name="log_subject"),
            models.Index(fields=["consent_lineage", "seq"], name="log_lineage"),
            models.Index(fields=["consent_id", "event_type", "occurred_at"], name="log_consent"),
            models.Index(fields=["recipient", "seq"], name="log_recipient"),
            models.Index(fields=["event_type", "occurred_at"], name="log_type_time"),
            models.Index(fields=["event_type", "seq"], name="log_type_seq"),
            models.Index(fields=["occurred_at"], name="log_time"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type}"


class LogNode(models.Model):
    """Hash of a complete subtree of 2**level leaves starting at leaf index * 2**level.

    Level 0 lives in LogEntry.leaf_hash; this holds levels 1 and up, so that any proof
    needs O(log n) reads. `key` packs (level, index) as index << 6 | level.
    """

    key = models.BigIntegerField(primary_key=True)
    hash = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        return f"level {self.key & 63} index {self.key >> 6}"


class LogHead(models.Model):
    """The single row that serialises appends: the size and the right edge of the tree."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)
    frontier = models.JSONField(
        default=list, help_text="Hex hashes of the complete subtrees on the right edge, left first"
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="loghead_singleton")]

    def __str__(self) -> str:
        return f"log of {self.size} entries"


class TreeHead(models.Model):
    """A signed tree head (RFC 6962 TreeHeadSignature, signed with Ed25519). Append-only."""

    tree_size = models.BigIntegerField(primary_key=True)
    timestamp_ms = models.BigIntegerField()
    root_hash = models.BinaryField(max_length=32)
    signature = models.BinaryField(max_length=64)
    key_id = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"tree head at size {self.tree_size}"


class Receipt(models.Model):
    """A signed consent receipt (JWS), one for each change a citizen made. Append-only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="receipts")
    log_seq = models.BigIntegerField(help_text="The log entry this receipt is for")
    event_type = models.CharField(max_length=32, choices=EventType.choices)
    issued_at = models.DateTimeField()
    jws = models.TextField(help_text="Compact JWS (alg Ed25519, RFC 9864) over the receipt JSON")

    class Meta:
        indexes = [models.Index(fields=["consent", "issued_at"], name="receipt_consent")]

    def __str__(self) -> str:
        return f"receipt {self.id}"


class Witness(models.Model):
    """A witness the operator accepts cosignatures from: a regulator's own Ed25519 key.

    Registered by an administrator (`manage.py witness_register VKEY`) from the verifier key
    the witness printed (c2sp.org/signed-note vkey of type 0x04, tlog-cosignature).
    """

    name = models.CharField(max_length=200, help_text="Key name in the cosignature lines")
    key_id = models.CharField(max_length=8, help_text="Hex key ID (signed-note, type 0x04)")
    public_key = models.BinaryField(max_length=32, help_text="Raw Ed25519 public key")
    label = models.CharField(max_length=200, blank=True, help_text="Who runs it, in words")
    registered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "key_id"], name="witness_name_key_id"),
        ]

    def __str__(self) -> str:
        return f"{self.label or self.name} ({self.name}+{self.key_id})"


class Cosignature(models.Model):
    """A witness's cosignature (C2SP tlog-cosignature/v1) of one checkpoint. Append-only."""

    witness = models.ForeignKey(Witness, on_delete=models.PROTECT, related_name="cosignatures")
    tree_size = models.BigIntegerField()
    root_hash = models.BinaryField(max_length=32)
    checkpoint = models.TextField(help_text="The checkpoint text the witness cosigned")
    timestamp = models.BigIntegerField(help_text="When the witness cosigned (POSIX seconds)")
    signature = models.BinaryField(max_length=64)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["witness", "tree_size", "timestamp"], name="cosignature_unique"
            ),
        ]
        indexes = [models.Index(fields=["tree_size"], name="cosignature_size")]

    def __str__(self) -> str:
        return f"{self.witness_id} cosigned size {self.tree_size}"


class IntegrityCheck(models.Model):
    """The result of one integrity check of the whole log (verify_log or the periodic task).

    Insert-only: every run adds a row, nothing is changed afterwards.
    """

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    source = models.CharField(max_length=16, help_text="verify_log or periodic")
    entries = models.BigIntegerField(default=0)
    tree_heads = models.IntegerField(default=0)
    consents = models.IntegerField(default=0)
    receipts = models.IntegerField(default=0)
    witnessed_size = models.BigIntegerField(null=True, blank=True)
    problems = models.JSONField(default=list, help_text="What failed, in words")
    log_seq = models.BigIntegerField(null=True, blank=True, help_text="Its audit.integrity entry")

    class Meta:
        indexes = [models.Index(fields=["-finished_at"], name="integrity_latest")]

    def __str__(self) -> str:
        return f"integrity check {self.finished_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'ALARM'}"
