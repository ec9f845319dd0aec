"""The one way Tahto writes a moment: RFC 3339 in UTC with "Z" (receipts, FHIR, the log)."""

from datetime import UTC, datetime


def iso_utc(moment: datetime) -> str:
    """RFC 3339 / ISO 8601 in UTC with "Z" (microseconds only when there are any)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: Tahto stores aware datetimes only")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
