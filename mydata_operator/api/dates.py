"""A moment as citizens read it, in one format per language: 29.5.2027 klo 9.36 (fi),
29.5.2027 kl. 9.36 (sv), 29 May 2027 at 09:36 (en); local time, no ISO, no long month names."""

from datetime import datetime

from django.utils import formats, timezone
from django.utils.translation import gettext as _


def local_datetime(value: datetime) -> str:
    """The moment in local time, in the active language's short date and its time."""
    local = timezone.localtime(value)
    return _("%(date)s at %(time)s") % {
        "date": formats.date_format(local, "SHORT_DATE_FORMAT"),
        "time": formats.time_format(local, "TIME_FORMAT"),
    }
