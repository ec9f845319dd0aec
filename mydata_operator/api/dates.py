"""Dates and moments as people read them, in one format per language: 29.5.2027 klo 9.36 (fi),
29.5.2027 kl. 9.36 (sv), 29 May 2027 at 09:36 (en); a day 30.11.2026 (fi, sv) or 30 Nov 2026
(en); a month "marraskuu 2026", "november 2026", "November 2026". Local time, never ISO
(machine-read answers and files keep ISO 8601; these are for pages and documents)."""

from datetime import date, datetime

from django.utils import formats, timezone
from django.utils.translation import gettext as _


def local_datetime(value: datetime) -> str:
    """The moment in local time, in the active language's short date and its time."""
    local = timezone.localtime(value)
    return _("%(date)s at %(time)s") % {
        "date": formats.date_format(local, "SHORT_DATE_FORMAT"),
        "time": formats.time_format(local, "TIME_FORMAT"),
    }


def local_date(value: date) -> str:
    """A day in the active language's short date: 30.11.2026 (fi, sv), 30 Nov 2026 (en). A
    datetime is first taken to local time."""
    if isinstance(value, datetime):
        value = timezone.localtime(value)
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def local_month(value: date) -> str:
    """A month and its year, the month named in the active language: marraskuu 2026 (fi),
    november 2026 (sv), November 2026 (en)."""
    return formats.date_format(value, "YEAR_MONTH_FORMAT")
