"""What a change would permit and deny, asked of the policy decision point.

For a handful of example questions derived from the scope ("may Terveys Oy see your
diagnoses for your care?") we ask consents.policy twice: `decide_preview` for today, and
`decide` over the same consents with the proposed change applied (an unsaved consent in
place of the current one). No rule is evaluated here.
"""

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from consents import policy
from consents.models import Consent
from consents.states import Status

from . import labels as L
from .kinds import questions_for
from .selectors import provider_names


@dataclass
class PreviewRow:
    question: str
    now: bool
    after: bool
    reason_after: str

    @property
    def changes(self) -> bool:
        return self.now != self.after


def hypothetical(
    *,
    kind: str,
    subject_id: UUID,
    scope: dict[str, Any],
    at: datetime,
    valid_until: datetime | None = None,
    replacing: Consent | None = None,
    status: str = Status.ACTIVE,
) -> Consent:
    """An unsaved consent as it would be after the change (never written to the database)."""
    base = replacing
    return Consent(
        id=uuid.uuid4(),
        lineage=base.lineage if base else uuid.uuid4(),
        version=(base.version + 1) if base else 1,
        kind=kind,
        subject_id=subject_id,
        provision=base.provision if base else "permit",
        scope=copy.deepcopy(scope),
        status=status,
        valid_from=at,
        valid_until=valid_until,
        created_at=at,
        updated_at=at,
    )


def preview(
    *, at: datetime, proposed: Consent | None, replacing: Consent | None = None
) -> list[PreviewRow]:
    """Ask the decision point about example flows, today and after the change.

    `proposed` is the consent as it would be (None: the current one goes away, e.g. a
    withdrawal); `replacing` is the consent it replaces, left out of the "after" set. The
    questions come from whichever of the two is given (the proposed one first).
    """
    basis = proposed or replacing
    if basis is None:
        raise ValueError("preview needs the proposed consent, the replaced one, or both")
    names = provider_names()
    rows = []
    for question, request in questions_for(basis.kind, basis.scope, basis.subject_id, at, names):
        loaded = policy.consents_for_decision(request)  # once for both answers
        today = policy.decide_preview(request, loaded)
        consents = [c for c in loaded if replacing is None or c.lineage != replacing.lineage]
        if proposed is not None:
            consents.append(proposed)
        after = policy.decide(request, consents)
        rows.append(
            PreviewRow(
                question=question,
                now=today.permit,
                after=after.permit,
                reason_after=L.label(L.REASONS, after.reason.value),
            )
        )
    return rows
