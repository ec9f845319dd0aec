"""A signed receipt in words a person can read: the same facts as the JWS (which stays the
proof), as an HTML page and as a PDF, in the page's language.

`readable(payload, viewer=...)` turns a verified payload into labelled rows; the page and
the PDF both render those rows, so they never say different things.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from mydata_operator.api.dates import local_datetime
from mydata_operator.identity.models import Person

from . import labels as L
from . import selectors as S


@dataclass
class Readable:
    title: str
    event: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    scope: list[tuple[str, str]] = field(default_factory=list)
    policy_url: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


def _when(timestamp: int | float | None) -> str:
    if not timestamp:
        return ""
    return local_datetime(datetime.fromtimestamp(timestamp, tz=timezone.get_current_timezone()))


def _iso_date(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return formats.date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT")


def made_by(actor: dict[str, Any], viewer: Person | None) -> str:
    """Who did what the receipt records, said to the viewer: "you" only when it was them."""
    actor_id = str(actor.get("id") or "")
    role = str(actor.get("role") or "")
    if viewer is not None and actor_id == str(viewer.id):
        return _("you")
    person = None
    try:
        person = Person.objects.filter(id=UUID(actor_id)).first() if actor_id else None
    except ValueError:
        person = None
    role_label = L.label(L.ROLES_THIRD_PERSON, role) if role else ""
    if person is not None:
        return f"{person} ({role_label})" if role_label else str(person)
    if role == "self":
        return _("the person themself")
    return role_label or _("unknown")


def readable(payload: dict[str, Any], *, viewer: Person | None) -> Readable:
    """The receipt's facts as labelled rows, in the active language."""
    consent = payload.get("consent") or {}
    names = S.provider_names()
    kind = str(consent.get("kind") or "")
    validity = ""
    if consent.get("validFrom"):
        start = _iso_date(consent.get("validFrom"))
        validity = (
            f"{start} – {_iso_date(consent.get('validUntil'))}"  # noqa: RUF001 - en dash
            if consent.get("validUntil")
            else _("from %(start)s until withdrawn") % {"start": start}
        )
    log = payload.get("log") or {}
    controllers = [str(c.get("name") or "") for c in payload.get("piiControllers") or []]
    rows = [
        (_("Event"), L.label(L.EVENTS, str(payload.get("event") or ""))),
        (_("Time"), _when(payload.get("consentTimestamp"))),
        (_("Made by"), made_by(payload.get("actor") or {}, viewer)),
        (_("Consent"), L.label(L.KINDS, kind)),
        (_("State after this event"), L.label(L.STATUSES, str(consent.get("status") or ""))),
        (_("Version"), str(consent.get("version") or "")),
    ]
    if validity:
        rows.append((_("Period"), validity))
    rows += [
        (_("Controllers"), ", ".join(c for c in controllers if c)),
        (_("Log entry"), f"#{log.get('entry', log.get('seq', ''))}"),
        (_("Receipt id"), str(payload.get("consentReceiptID") or "")),
    ]
    return Readable(
        title=_("Consent receipt"),
        event=L.label(L.EVENTS, str(payload.get("event") or "")),
        rows=rows,
        scope=S.describe_scope(kind, consent.get("scope") or {}, names),
        policy_url=str(payload.get("policyUrl") or ""),
        payload=payload,
    )


def _latin(text: str) -> str:
    """The PDF's built-in font covers Latin-1: the few other characters in our texts, mapped."""
    table = {"–": "-", "—": "-", "’": "'", "“": '"', "”": '"', "…": "...", "·": "-"}  # noqa: RUF001
    out = "".join(table.get(ch, ch) for ch in text)
    return out.encode("latin-1", errors="replace").decode("latin-1")


def pdf(receipt: Readable, *, footer: str) -> bytes:
    """The readable receipt as a PDF (A4, the PDF's built-in Helvetica: no font files)."""
    from fpdf import FPDF  # imported here: only this page needs it

    doc = FPDF(format="A4")
    doc.set_title(_latin(receipt.title))
    doc.set_author("Tahto")
    doc.set_lang((get_language() or "fi")[:2])
    doc.set_auto_page_break(auto=True, margin=15)
    doc.add_page()
    doc.set_font("Helvetica", "B", 18)
    doc.multi_cell(0, 10, _latin(f"{receipt.title}: {receipt.event}"), new_x="LMARGIN")
    doc.ln(2)
    for rows in (receipt.rows, receipt.scope):
        for term, value in rows:
            doc.set_font("Helvetica", "B", 11)
            doc.multi_cell(0, 6, _latin(term), new_x="LMARGIN")
            doc.set_font("Helvetica", "", 11)
            doc.multi_cell(0, 6, _latin(value or "-"), new_x="LMARGIN")
            doc.ln(1)
        doc.ln(3)
    doc.set_font("Helvetica", "", 9)
    doc.multi_cell(0, 5, _latin(footer), new_x="LMARGIN")
    if receipt.policy_url:
        doc.multi_cell(0, 5, _latin(receipt.policy_url), new_x="LMARGIN")
    return bytes(doc.output())
