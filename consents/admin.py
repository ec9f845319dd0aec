"""Django admin for the operator's staff. The log tables are read-only here and in the database."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    Consent,
    Cosignature,
    IntegrityCheck,
    LogBatch,
    LogEntry,
    LogLeaf,
    LogNode,
    Mandate,
    Notice,
    Receipt,
    TreeHead,
    Witness,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Nothing can be added, changed or deleted: the database refuses it anyway."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "leaf_index", "event_type", "occurred_at", "kind", "recipient", "outcome"]
    list_filter = ["event_type", "outcome", "kind"]
    search_fields = ["=subject_id", "=consent_lineage", "=recipient"]
    ordering = ["-id"]
    show_full_result_count = False

    @admin.display(description="leaf index")
    def leaf_index(self, obj: LogEntry) -> str:
        return "pending integration" if obj.seq is None else str(obj.seq)


@admin.register(TreeHead)
class TreeHeadAdmin(ReadOnlyAdmin):
    list_display = ["tree_size", "timestamp_ms", "key_id"]
    ordering = ["-tree_size"]


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ["id", "event_type", "issued_at", "log_entry_id"]
    ordering = ["-issued_at"]


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "language", "created_at"]


@admin.register(LogNode, LogLeaf, LogBatch)
class LogInternalsAdmin(ReadOnlyAdmin):
    pass


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    """Consents change only through the services (so every change is logged), never by hand."""

    list_display = [
        "lineage",
        "version",
        "kind",
        "status",
        "provision",
        "valid_from",
        "valid_until",
    ]
    list_filter = ["kind", "status", "provision"]
    search_fields = ["=id", "=lineage", "=subject_id", "requested_by"]


@admin.register(Mandate)
class MandateAdmin(ReadOnlyAdmin):
    list_display = ["principal_id", "agent_id", "basis", "valid_from", "valid_until", "ended_at"]


@admin.register(IntegrityCheck)
class IntegrityCheckAdmin(ReadOnlyAdmin):
    """Results of verify_log and the periodic integrity check; the newest first."""

    list_display = [
        "finished_at",
        "source",
        "ok",
        "entries",
        "daily_counts",
        "witnessed_size",
        "log_entry_id",
    ]
    list_filter = ["ok", "source"]
    readonly_fields = [
        "started_at",
        "finished_at",
        "source",
        "ok",
        "entries",
        "tree_heads",
        "consents",
        "receipts",
        "daily_counts",
        "witnessed_size",
        "problems",
        "log_entry_id",
    ]
    ordering = ["-finished_at"]


@admin.register(Cosignature)
class CosignatureAdmin(ReadOnlyAdmin):
    list_display = ["tree_size", "witness", "timestamp", "received_at"]
    ordering = ["-tree_size"]


@admin.register(Witness)
class WitnessAdmin(ReadOnlyAdmin):
    """Witnesses are registered with `manage.py witness_register VKEY`, not by hand."""

    list_display = ["name", "key_id", "label", "registered_at"]
