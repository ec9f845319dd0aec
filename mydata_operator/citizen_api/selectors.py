"""What the citizen API reads: only consents (and their log entries and receipts) the user may
see and act on, by the one rule of acting on behalf (`mydata_operator.api.access`)."""

from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from consents.models import Consent, LogEntry, Receipt
from mydata_operator.api.access import consent_visible_to, consents_visible_to

#: Query parameters of the consent list and the fields they filter.
LIST_FILTERS = (("kind", "kind"), ("status", "status"), ("subject", "subject_id"))


def consent_visible(*, user: Any, consent_id: UUID) -> Consent | None:
    """A consent the user may act on; None for anything else (someone else's, of a kind
    their mandate does not cover, or unknown), so the answer reveals nothing."""
    consent = Consent.objects.filter(id=consent_id).select_related("notice").first()
    if consent is None or not consent_visible_to(user, consent):
        return None
    return consent


def consents_visible(*, user: Any, filters: dict[str, str], limit: int = 500) -> list[Consent]:
    """The consents the user may see, newest first, narrowed by the list's query parameters."""
    qs = Consent.objects.filter(consents_visible_to(user))
    for param, field in LIST_FILTERS:
        if value := filters.get(param):
            qs = qs.filter(**{field: value})
    return list(qs.order_by("-created_at")[:limit])


def history_entries(consent: Consent) -> QuerySet[LogEntry]:
    """Every log entry of the consent's lineage, in the order recorded (pending ones too:
    their leaf index comes at integration)."""
    return LogEntry.objects.filter(consent_lineage=consent.lineage).order_by("id")


def receipts_of(consent: Consent) -> QuerySet[Receipt]:
    return Receipt.objects.filter(consent__lineage=consent.lineage).order_by("issued_at")


def receipt_visible(*, user: Any, receipt_id: UUID) -> Receipt | None:
    receipt = Receipt.objects.select_related("consent").filter(id=receipt_id).first()
    if receipt is None or not consent_visible_to(user, receipt.consent):
        return None
    return receipt
