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


class LogEntryQuerySet(models.QuerySet["LogEntry"]):
    """Every entry carries its leaf index (`seq`): None until the integrator has placed it."""

    def integrated(self) -> "LogEntryQuerySet":
        """Only the entries that have a leaf index (are in the Merkle tree), i.e. proven."""
        return self.filter(leaf__isnull=False)


class LogEntryManager(models.Manager["LogEntry"]):
    def get_queryset(self) -> LogEntryQuerySet:
        return LogEntryQuerySet(self.model, using=self._db).annotate(leaf_seq=F("leaf__seq"))

    def integrated(self) -> LogEntryQuerySet:
        return self.get_queryset().integrated()


class LogEntry(models.Model):
    """One entry of the tamper-evident log, recorded by the request that made it.

    `entry` is the canonical JSON (RFC 8785) that was hashed; the other columns are derived
    from it by `consents.log.entry_columns`, kept only so that the log can be searched. The
    entry gets its place in the Merkle tree (its leaf index, `seq`) later, from the
    integrator, as a LogLeaf row: the request's transaction only inserts this row. The
    database refuses UPDATE and DELETE.
    """

    id = models.BigAutoField(
        primary_key=True, help_text="Entry id, assigned at insert; not the leaf index"
    )
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

    #: Entries read through it carry their leaf index (see `seq`) from the same query;
    #: filter and order on `leaf__seq`.
    objects = LogEntryManager()

    class Meta:
        verbose_name_plural = "log entries"
        indexes = [
            models.Index(fields=["subject_id", "id"], name="log_subject"),
            models.Index(fields=["consent_lineage", "id"], name="log_lineage"),
            models.Index(fields=["consent_id", "event_type", "occurred_at"], name="log_consent"),
            models.Index(fields=["recipient", "id"], name="log_recipient"),
            models.Index(fields=["event_type", "occurred_at"], name="log_type_time"),
            models.Index(fields=["event_type", "id"], name="log_type_seq"),
            models.Index(fields=["occurred_at"], name="log_time"),
        ]

    def __str__(self) -> str:
        return f"entry {self.id} {self.event_type}"

    @property
    def seq(self) -> int | None:
        """The leaf index (LogLeaf.seq); None while the entry is pending integration."""
        if "leaf_seq" in self.__dict__:
            value: int | None = self.__dict__["leaf_seq"]
            return value
        return LogLeaf.objects.filter(entry_id=self.id).values_list("seq", flat=True).first()


class LogLeaf(models.Model):
    """The place of one entry in the Merkle tree, written by the integrator. Append-only.

    Both `seq` (the leaf index, from 0, no gaps) and `entry` are unique, so no entry is
    integrated twice and no index is given twice. `leaf_hash` repeats the entry's leaf hash
    so that proofs read only this table and LogNode.
    """

    seq = models.BigIntegerField(primary_key=True, help_text="Leaf index, from 0, no gaps")
    entry = models.OneToOneField(LogEntry, on_delete=models.PROTECT, related_name="leaf")
    leaf_hash = models.BinaryField(max_length=32, help_text="SHA-256(0x00 || entry)")

    class Meta:
        indexes = [models.Index(fields=["leaf_hash"], name="logleaf_hash")]

    def __str__(self) -> str:
        return f"leaf {self.seq} = entry {self.entry_id}"


class LogNode(models.Model):
    """Hash of a complete subtree of 2**level leaves starting at leaf index * 2**level.

    Level 0 lives in LogLeaf.leaf_hash; this holds levels 1 and up, so that any proof
    needs O(log n) reads. `key` packs (level, index) as index << 6 | level.
    """

    key = models.BigIntegerField(primary_key=True)
    hash = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        return f"level {self.key & 63} index {self.key >> 6}"


class LogBatch(models.Model):
    """One integration batch: the tree's size, right edge and root after it. Append-only.

    The newest row (largest size) is the log's head. `horizon` is where the integrator's
    next scan for committed entries starts (on PostgreSQL a transaction id, xid8; on SQLite
    an entry id); every entry below it is integrated.
    """

    size = models.BigIntegerField(primary_key=True, help_text="Tree size after this batch")
    entries = models.IntegerField(help_text="Entries this batch integrated")
    frontier = models.JSONField(
        default=list, help_text="Hex hashes of the complete subtrees on the right edge, left first"
    )
    root_hash = models.BinaryField(max_length=32)
    horizon = models.BigIntegerField(default=0)
    integrated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "log batches"
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=0), name="logbatch_size_nonnegative"),
            models.CheckConstraint(condition=Q(entries__gte=0), name="logbatch_entries"),
        ]

    def __str__(self) -> str:
        return f"log of {self.size} entries"


class LogDailyCount(models.Model):
    """Integrated log entries per day and searchable columns, so that the regulator's
    statistics read one row per day and group instead of every entry of the log.

    Derived data, not part of the log: the integrator adds each batch's counts in the batch's
    transaction (`consents.log`), so the table always covers exactly the integrated entries
    and can be recomputed from them. `day` is the entry's day in settings.TIME_ZONE, the
    zone the regulator's day filters use.
    """

    day = models.DateField()
    event_type = models.CharField(max_length=32)  # no choices: new event types need no migration
    kind = models.CharField(max_length=32, blank=True)
    recipient = models.CharField(max_length=128, blank=True)
    outcome = models.CharField(max_length=8, blank=True)
    entries = models.BigIntegerField(help_text="How many integrated entries have these values")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "event_type", "kind", "recipient", "outcome"],
                name="logdailycount_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.event_type}: {self.entries}"


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
    log_entry = models.ForeignKey(
        LogEntry,
        on_delete=models.PROTECT,
        related_name="receipts",
        help_text="The log entry this receipt is for (cited by id and leaf hash)",
    )
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
    # Nullable: the checks stored before it was counted say nothing (and SQLite adds a
    # nullable column in place, keeping the append-only triggers; a NOT NULL one would
    # rebuild the table without them).
    daily_counts = models.IntegerField(
        null=True,
        blank=True,
        help_text="LogDailyCount rows compared with the recounted entries (empty before "
        "it was recorded)",
    )
    witnessed_size = models.BigIntegerField(null=True, blank=True)
    problems = models.JSONField(default=list, help_text="What failed, in words")
    log_entry_id = models.BigIntegerField(
        null=True, blank=True, help_text="Its audit.integrity entry (LogEntry id)"
    )

    class Meta:
        indexes = [models.Index(fields=["-finished_at"], name="integrity_latest")]

    def __str__(self) -> str:
        return f"integrity check {self.finished_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'ALARM'}"
