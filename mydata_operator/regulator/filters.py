"""The regulator's search filter: parsed from a query string, with an error per field.

One form serves the pages, the JSON API and the exports, so a filter means the same thing
everywhere. The personal identity code is turned into the pseudonymous `Person.id` here and
never goes further: the log and the audit entries hold only the pseudonym.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from consents.events import EventType
from consents.models import LogEntry
from consents.policy import Flow
from consents.vocabulary import KIND_LABELS
from mydata_operator.identity.models import Person
from mydata_operator.identity.selectors import subject_pseudonym
from schemas.hetu import InvalidHetu, parse_hetu

from .labels import EVENT_NAMES, FLOWS, OUTCOMES, label

OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
MAX_LIMIT = 200
#: The largest seq or tree size taken as input: the largest integer that JSON (and so the
#: canonical audit entry, RFC 8785) holds exactly; far beyond any log's size.
MAX_SEQ = 2**53 - 1
DEFAULT_LIMIT = 50

#: A valid demo code (Aino Virtanen's in the demo data), shown as the form's example.
EXAMPLE_HETU = "120485-9020"
EXAMPLE_OID = "1.2.246.10.1234567.10.0"


def kind_choices() -> list[tuple[str, str]]:
    """Consent kinds and data flows, in the language of the request (never at import)."""
    return [
        ("", str(_("Any kind"))),
        *[(code, str(name)) for code, name in KIND_LABELS.items()],
        *[(f.value, str(_("Data flow: %(flow)s") % {"flow": label(FLOWS, f.value)})) for f in Flow],
    ]


def outcome_choices() -> list[tuple[str, str]]:
    return [("", str(_("Any outcome"))), *[(k, str(v)) for k, v in OUTCOMES.items()]]


def event_choices() -> list[tuple[str, str]]:
    return [(e.value, f"{label(EVENT_NAMES, e.value)} ({e.value})") for e in EventType]


@dataclass(frozen=True)
class LogFilter:
    """A parsed, valid filter. Empty fields filter nothing."""

    subject_id: uuid.UUID | None = None
    provider: str = ""
    kind: str = ""
    event_types: tuple[str, ...] = ()
    purpose: str = ""
    outcome: str = ""
    consent: uuid.UUID | None = None
    time_from: datetime | None = None
    time_to: datetime | None = None  # exclusive

    def as_audit(self) -> dict[str, Any]:
        """The filter as it is written to the audit entry: pseudonyms only, no result."""
        return {
            "subject": str(self.subject_id) if self.subject_id else None,
            "provider": self.provider or None,
            "kind": self.kind or None,
            "eventTypes": list(self.event_types) or None,
            "purpose": self.purpose or None,
            "outcome": self.outcome or None,
            "consent": str(self.consent) if self.consent else None,
            "from": self.time_from,
            "to": self.time_to,
        }

    def is_empty(self) -> bool:
        return not any(
            (
                self.subject_id,
                self.provider,
                self.kind,
                self.event_types,
                self.purpose,
                self.outcome,
                self.consent,
                self.time_from,
                self.time_to,
            )
        )


def _day_start(day: date) -> datetime:
    """The start of `day` in Finnish time (settings.TIME_ZONE), the time the pages show."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


class LogFilterForm(forms.Form):
    """Search the consent log. Every field is optional; together they narrow the search."""

    subject = forms.CharField(
        label=_("Personal identity code"),
        required=False,
        max_length=32,
        help_text=format_lazy(
            "{} {}",
            _("The subject's personal identity code (henkilötunnus), for example"),
            EXAMPLE_HETU,
        ),
    )
    provider = forms.CharField(
        label=_("Provider (organisation OID)"),
        required=False,
        max_length=128,
        help_text=format_lazy(
            "{} {}", _("The recipient organisation's OID, for example"), EXAMPLE_OID
        ),
    )
    kind = forms.ChoiceField(label=_("Consent kind or data flow"), required=False)
    event = forms.MultipleChoiceField(
        label=_("Event type"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("The consent's state change or the decision; none selected: all but audit."),
    )
    purpose = forms.CharField(label=_("Purpose"), required=False, max_length=64)
    outcome = forms.ChoiceField(label=_("Decision outcome"), required=False)
    consent = forms.UUIDField(label=_("Consent (id or lineage)"), required=False)
    date_from = forms.DateField(
        label=_("From (date, Finnish time)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("To (date, Finnish time, inclusive)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices()  # type: ignore[attr-defined]
        self.fields["event"].choices = event_choices()  # type: ignore[attr-defined]
        self.fields["outcome"].choices = outcome_choices()  # type: ignore[attr-defined]
        self._person: Person | None = None
        self._subject_id: uuid.UUID | None = None

    def clean_subject(self) -> str:
        code = (self.cleaned_data.get("subject") or "").strip().upper()
        if not code:
            return ""
        try:
            parse_hetu(code)
        except InvalidHetu:
            # The parser's reason is English and technical; the person gets the format.
            raise forms.ValidationError(
                _(
                    "Not a valid personal identity code. It is the birth date (DDMMYY), "
                    "a century sign, three digits and a control character, for example "
                    "%(example)s."
                ),
                code="invalid-hetu",
                params={"example": EXAMPLE_HETU},
            ) from None
        self._person = Person.objects.filter(personal_identity_code=code).first()
        # A provider's request for someone not yet known is logged under the id they will
        # have on joining (identity.selectors.subject_pseudonym): found by their code too.
        self._subject_id = self._person.id if self._person else subject_pseudonym(code)
        if (
            self._person is None
            and not LogEntry.objects.filter(subject_id=self._subject_id).exists()
        ):
            raise forms.ValidationError(
                _("No person with this personal identity code is known to the operator."),
                code="unknown-subject",
            )
        return code

    def clean_provider(self) -> str:
        oid = (self.cleaned_data.get("provider") or "").strip()
        if oid and not OID.match(oid):
            raise forms.ValidationError(
                _("An organisation OID is digits separated by dots, for example %(example)s."),
                code="invalid-oid",
                params={"example": EXAMPLE_OID},
            )
        return oid

    def _check_date(self, name: str) -> date | None:
        value: date | None = self.cleaned_data.get(name)
        if value is not None and not EARLIEST <= value <= LATEST:
            raise forms.ValidationError(
                _("The date must be between %(first)s and %(last)s."),
                code="date-out-of-range",
                params={"first": EARLIEST.isoformat(), "last": LATEST.isoformat()},
            )
        return value

    def clean_date_from(self) -> date | None:
        return self._check_date("date_from")

    def clean_date_to(self) -> date | None:
        return self._check_date("date_to")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error(
                "date_to", forms.ValidationError(_("The end is before the start."), code="order")
            )
        return data

    def log_filter(self) -> LogFilter:
        """The parsed filter; call only after is_valid()."""
        data = self.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        return LogFilter(
            subject_id=self._subject_id,
            provider=data.get("provider", ""),
            kind=data.get("kind", ""),
            event_types=tuple(sorted(data.get("event") or ())),
            purpose=(data.get("purpose") or "").strip(),
            outcome=data.get("outcome", ""),
            consent=data.get("consent"),
            time_from=_day_start(start) if start else None,
            time_to=_day_start(end) + timedelta(days=1) if end else None,
        )


def form_errors(form: forms.Form) -> list[dict[str, str]]:
    """The form's errors as RFC 9457 extension members: pointer (the query parameter) and text."""
    return [
        {"pointer": f"/{name if name != '__all__' else ''}", "message": str(message)}
        for name, messages in form.errors.items()
        for message in messages
    ]


class CursorError(ValueError):
    """A pagination cursor that is not a non-negative integer."""


def parse_cursor(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 16 or int(raw) > MAX_SEQ:
        raise CursorError(f"{name} must be a non-negative integer (a log sequence number)")
    return int(raw)


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 4 or not 1 <= int(raw) <= MAX_LIMIT:
        raise CursorError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


#: The query parameters that make up a filter, in the order links repeat them.
FILTER_FIELDS = (
    "subject",
    "provider",
    "kind",
    "event",
    "purpose",
    "outcome",
    "consent",
    "date_from",
    "date_to",
)


def filter_query(request: HttpRequest, **extra: Any) -> str:
    """The request's filter parameters (and `extra`) as a query string for links."""
    pairs = [(k, v) for k in FILTER_FIELDS for v in request.GET.getlist(k) if v != ""]
    pairs += [(k, str(v)) for k, v in extra.items() if v is not None]
    return urlencode(pairs)
