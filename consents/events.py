"""Event types of the consent log, with the meaning regulators and integrators rely on.

Every entry of the log has one of these types. The values are part of the log's contract:
never rename or reuse one, only add.
"""

from django.db import models


class EventType(models.TextChoices):
    CONSENT_REQUESTED = "consent.requested", "A provider asked the citizen for a consent"
    CONSENT_GRANTED = "consent.granted", "The citizen (or a representative) granted a consent"
    CONSENT_APPROVED = "consent.approved", "The citizen approved a provider's request"
    CONSENT_REJECTED = "consent.rejected", "The citizen rejected a provider's request"
    CONSENT_CHANGED = "consent.changed", "The citizen changed the consent: this is its new version"
    CONSENT_SUPERSEDED = "consent.superseded", "This version was replaced by a newer one"
    CONSENT_PAUSED = "consent.paused", "The citizen paused the consent; it denies until resumed"
    CONSENT_RESUMED = "consent.resumed", "The citizen resumed a paused consent"
    CONSENT_WITHDRAWN = "consent.withdrawn", "The citizen withdrew the consent"
    CONSENT_REVOKED = "consent.revoked", "Someone other than the citizen ended the consent"
    CONSENT_TERMINATED = "consent.terminated", "The requesting provider ended the consent"
    CONSENT_EXPIRED = "consent.expired", "The consent's period ended"
    MANDATE_CREATED = "mandate.created", "A person may now act on behalf of another"
    MANDATE_ENDED = "mandate.ended", "A person may no longer act on behalf of another"
    DECISION_PERMIT = "decision.permit", "The policy decision point permitted a data flow"
    DECISION_DENY = "decision.deny", "The policy decision point denied a data flow"
    DATA_DELIVERED = "flow.delivered", "Permitted data was delivered to its recipient"
    DATA_FAILED = "flow.failed", "A permitted flow failed permanently; nothing was delivered"
    AUDIT_QUERY = "audit.query", "A regulator searched or exported the log (who, what filter)"
    AUDIT_INTEGRITY = (
        "audit.integrity",
        "The operator's integrity check of the log ran (outcome ok or alarm, and what it found)",
    )

    # Operator staff's changes that decide whose data a token or a consent reaches. Each names
    # the staff member (actorDetail, type "operator") and their reason, and how many provider
    # tokens the change ended. No identity code is ever written: a person is named by
    # `person_ref`, an identity code only by the pseudonym `person_ref` gives its keyed hash.
    IDENTITY_CODE_CHANGED = (
        "identity.code-changed",
        "Operator staff changed a person's identity code (from and to as pseudonyms, never the "
        "codes); every provider token bound to the person's consents was ended",
    )
    PROVIDER_ORGANISATION_CHANGED = (
        "provider.organisation-changed",
        "Operator staff changed a provider's organisation id (OID); every token of the "
        "provider's client was ended",
    )
    REGULATOR_ASSIGNED = (
        "regulator.assigned",
        "Operator staff gave a user the regulator's read access to the log (for an organisation)",
    )
    REGULATOR_CHANGED = (
        "regulator.changed",
        "Operator staff changed the organisation a regulator user inspects for",
    )
    REGULATOR_UNASSIGNED = (
        "regulator.unassigned",
        "Operator staff took a user's regulator access away",
    )
    CLIENT_REDIRECT_URIS_CHANGED = (
        "client.redirect-uris-changed",
        "Operator staff changed an OAuth client's redirect URIs (from and to); the codes, pushed "
        "requests and tokens that a URI taken away could have received were ended",
    )
    CLIENT_KEY_RETIRED = (
        "client.key-retired",
        "Operator staff retired an OAuth client's signing key (its kid); it authenticates no more",
    )
    USER_RIGHTS_CHANGED = (
        "user.rights-changed",
        "Operator staff changed a user's staff or superuser rights (from and to)",
    )
    USER_PASSWORD_SET = (
        "user.password-set",
        "Operator staff set a user's password (never written to the log)",
    )
    USER_EMAIL_CHANGED = (
        "user.email-changed",
        "Operator staff changed a user's e-mail address, where password resets go (the "
        "addresses are not written to the log)",
    )
    USER_DEACTIVATED = (
        "user.deactivated",
        "Operator staff turned a user's account off: the user was signed out everywhere, and "
        "the app authorizations, codes and pushed requests their account held were ended",
    )
    USER_REACTIVATED = (
        "user.reactivated",
        "Operator staff turned a user's account on again (nothing ended before comes back)",
    )


EVENT_DESCRIPTIONS: dict[str, str] = {e.value: e.label for e in EventType}
