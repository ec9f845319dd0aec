"""The notice a person reads before they give, change or approve a consent.

The same function renders the confirmation page and, on confirm, the text handed to the
service; the page carries its SHA-256, so what is recorded is exactly what was shown.
"""

import hashlib

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from mydata_operator.identity.models import Person

from . import labels as L


def notice_text(
    *,
    action: str,
    kind: str,
    rows: list[tuple[str, str]],
    validity: str,
    actor: Person,
    subject: Person,
    role: str,
    requester: str = "",
) -> str:
    """The notice in the active language. `action`: grant, change or approve."""
    lines: list[str] = []
    kind_label = L.label(L.KINDS, kind)
    if action == "approve":
        lines.append(
            _("%(requester)s asks for your consent: %(kind)s.")
            % {"requester": requester, "kind": kind_label}
        )
        lines.append(_("I, %(actor)s, approve this request.") % {"actor": actor})
    elif action == "change":
        lines.append(
            _("I, %(actor)s, change my consent: %(kind)s. The earlier version ends now.")
            % {"actor": actor, "kind": kind_label}
        )
    else:
        lines.append(
            _("I, %(actor)s, give my consent: %(kind)s.") % {"actor": actor, "kind": kind_label}
        )
    if role != "self":
        lines.append(
            _("I act on behalf of %(subject)s (%(role)s).")
            % {"subject": subject, "role": L.label(L.ROLES, role)}
        )
    for term, description in rows:
        lines.append(f"{term}: {description}")
    lines.append(_("In force: %(validity)s.") % {"validity": validity})
    lines.append(
        _(
            "The consent can be withdrawn at any time in Tahto, as easily as it was given. "
            "Withdrawal stops every later use at once; data already given stays with its recipient."
        )
    )
    return "\n".join(lines)


def notice_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def notice_language() -> str:
    language = (get_language() or "fi")[:2]
    return language if language in ("fi", "sv", "en") else "fi"
