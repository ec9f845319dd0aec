"""Consent kinds, states and the one table of allowed transitions."""

from django.db import models

from .kinds import KINDS

#: The consent kinds, for model choices and the database's check; each kind is one module in
#: consents/kinds/ (its code, label, schema and rules), listed in `consents.kinds.KINDS`.
Kind = models.TextChoices(  # type: ignore[call-overload]  # members come from the registry
    "Kind", [(code.upper().replace("-", "_"), (code, k.label)) for code, k in KINDS.items()]
)


class Provision(models.TextChoices):
    """Does the consent permit what its scope names, or refuse it (FHIR provision.type)."""

    PERMIT = "permit", "Permit"
    DENY = "deny", "Deny (a refusal)"


class Status(models.TextChoices):
    """Lifecycle states (after W3C DPV consent statuses and NextGenPSD2 consentStatus)."""

    REQUESTED = "requested", "Requested by a provider, waiting for the citizen"
    ACTIVE = "active", "Active: in force within its period"
    PAUSED = "paused", "Paused by the citizen: denies until resumed"
    WITHDRAWN = "withdrawn", "Withdrawn by the citizen (or their representative)"
    REVOKED = "revoked", "Revoked by someone else than the citizen (e.g. a mandate ended)"
    TERMINATED = "terminated", "Terminated by the provider that asked for it"
    EXPIRED = "expired", "Expired: its period ended"
    REJECTED = "rejected", "Rejected: the citizen declined the request"
    SUPERSEDED = "superseded", "Superseded by a newer version of the same consent"


STATUS_DESCRIPTIONS: dict[str, str] = {s.value: s.label for s in Status}

#: States a consent may be created in.
INITIAL: frozenset[Status] = frozenset({Status.REQUESTED, Status.ACTIVE})

#: The one table of allowed transitions; every service consults it through `check_transition`.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.REQUESTED: frozenset(
        {Status.ACTIVE, Status.REJECTED, Status.EXPIRED, Status.TERMINATED, Status.REVOKED}
    ),
    Status.ACTIVE: frozenset(
        {
            Status.PAUSED,
            Status.WITHDRAWN,
            Status.REVOKED,
            Status.TERMINATED,
            Status.EXPIRED,
            Status.SUPERSEDED,
        }
    ),
    Status.PAUSED: frozenset(
        {
            Status.ACTIVE,
            Status.WITHDRAWN,
            Status.REVOKED,
            Status.TERMINATED,
            Status.EXPIRED,
            Status.SUPERSEDED,
        }
    ),
    Status.WITHDRAWN: frozenset(),
    Status.REVOKED: frozenset(),
    Status.TERMINATED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.SUPERSEDED: frozenset(),
}

#: States in which a consent still binds tokens and may become or be in force.
LIVE: frozenset[Status] = frozenset({Status.REQUESTED, Status.ACTIVE, Status.PAUSED})
FINAL: frozenset[Status] = frozenset(s for s, to in TRANSITIONS.items() if not to)


class TransitionError(Exception):
    """A transition the table forbids."""

    def __init__(self, current: str, target: str):
        self.current, self.target = current, target
        allowed = ", ".join(sorted(TRANSITIONS[Status(current)])) or "none: the state is final"
        super().__init__(
            f"A consent that is {current} cannot become {target} "
            f"(allowed from {current}: {allowed})."
        )


def check_transition(current: str, target: str) -> None:
    """Raise TransitionError unless the table allows current -> target."""
    if Status(target) not in TRANSITIONS[Status(current)]:
        raise TransitionError(current, target)
