"""Template filters of the regulator's pages: a log code as a word with the code beside it,
a time in the viewer's local time with UTC on hover, a scope as readable rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from consents.vocabulary import CATEGORIES

from .. import labels

#: Shown where a field is empty (an en dash).
NONE = "\u2013"

register = template.Library()

#: Dates as Finland writes them in each language (Finland-Swedish writes 30.11.2026 too).
_DATETIME = {"fi": r"j.n.Y \k\l\o G.i.s", "sv": r"j.n.Y \k\l. G.i.s", "en": "j M Y, H:i:s"}
_DATE = {"fi": "j.n.Y", "sv": "j.n.Y", "en": "j M Y"}


def _lang() -> str:
    code = (get_language() or "fi").split("-")[0]
    return code if code in _DATE else "en"


def _coded(text: str, code: str) -> SafeString:
    if not code:
        return format_html("{}", NONE)
    if text == code:
        return format_html('<code class="code">{}</code>', code)
    return format_html('{} <code class="code">{}</code>', text, code)


@register.filter
def when(value: datetime | None) -> SafeString:
    """`<time>` in the viewer's local time (Europe/Helsinki), its UTC value on hover."""
    if value is None:
        return format_html("{}", NONE)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    local = timezone.localtime(value)
    utc = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        date_format(local, _DATETIME[_lang()]),
    )


@register.filter
def day(value: date | datetime | str | None) -> str:
    """A date (or the local date of a time, or an ISO 8601 text of either) as Finland writes
    it in the active language."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return date_format(value, _DATE[_lang()])


@register.filter
def event(code: str) -> SafeString:
    return _coded(labels.label(labels.EVENT_NAMES, code), code)


@register.filter
def event_name(code: str) -> str:
    return labels.label(labels.EVENT_NAMES, code)


@register.filter
def event_description(code: str) -> str:
    return labels.label(labels.EVENT_DESCRIPTIONS, code)


@register.filter
def outcome(code: str) -> SafeString:
    if code not in labels.OUTCOMES:
        return _coded(code, code)
    return format_html(
        '<span class="tag {}">{}</span> <code class="code">{}</code>',
        code,
        labels.label(labels.OUTCOMES, code),
        code,
    )


@register.filter
def kind_or_flow(code: str) -> SafeString:
    return _coded(labels.kind_or_flow(code), code)


@register.filter
def status(code: str) -> SafeString:
    return _coded(labels.label(labels.STATUSES, code), code)


@register.filter
def provision(code: str) -> SafeString:
    return _coded(labels.label(labels.PROVISIONS, code), code)


@register.filter
def purpose(code: str) -> SafeString:
    return _coded(labels.label(labels.PURPOSES, code), code)


@register.filter
def reason(code: str) -> SafeString:
    return _coded(labels.label(labels.REASONS, code), code)


@register.filter
def role(code: str) -> SafeString:
    return _coded(labels.label(labels.ROLES, code), code)


@register.filter
def actor_type(code: str) -> SafeString:
    return _coded(labels.label(labels.ACTOR_TYPES, code), code)


@register.filter
def categories(codes: Any) -> SafeString:
    """Data categories as their names, each with its code."""
    if not isinstance(codes, list) or not codes:
        return format_html("{}", NONE)
    parts = [_coded(labels.label(CATEGORIES, str(c)), str(c)) for c in codes]
    return SafeString(", ".join(parts))


@register.filter
def scope_items(scope: Any) -> list[tuple[str, str, str]]:
    return labels.scope_items(scope)
