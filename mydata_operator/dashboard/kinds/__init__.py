"""The dashboard's consent kinds: one module each (form, scope in words, preview questions),
listed here in the order the overview shows them. The kinds' rules live in `consents.kinds`."""

from datetime import datetime
from typing import Any
from uuid import UUID

from . import biobank, needs_assessment, provider_sharing, wellbeing_sharing
from .base import ConsentForm, DashboardKind, Questions, Rows

__all__ = ["DASHBOARD_KINDS", "ConsentForm", "DashboardKind", "describe_scope", "questions_for"]

#: Every kind the dashboard offers, in the overview's order.
DASHBOARD_KINDS: dict[str, DashboardKind] = {
    kind.code: kind
    for kind in (
        provider_sharing.KIND,
        wellbeing_sharing.KIND,
        needs_assessment.KIND,
        biobank.KIND,
    )
}


def describe_scope(kind: str, scope: dict[str, Any], names: dict[str, str]) -> Rows:
    """The scope in plain language: (term, description) rows (none for an unknown kind)."""
    entry = DASHBOARD_KINDS.get(kind)
    return entry.describe(scope, names) if entry else []


def questions_for(
    kind: str, scope: dict[str, Any], subject_id: UUID, at: datetime, names: dict[str, str]
) -> Questions:
    """The example questions a preview asks about a consent of this kind."""
    entry = DASHBOARD_KINDS.get(kind)
    return entry.questions(scope, subject_id, at, names) if entry else []
