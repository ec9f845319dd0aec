"""The decision point's vocabulary: the data flows it decides on and the reasons it gives.

Kept apart from `consents.policy` so that the consent kinds (`consents.kinds`), which the
policy asks, can name flows and reasons without importing the policy itself.
"""

from enum import StrEnum


class Flow(StrEnum):
    """The kinds of data flow the operator decides on."""

    PROVIDER_ACCESS = "provider-access"  # a provider fetches the citizen's data
    PROVIDER_PUSH = "provider-push"  # self-produced data pushed to a provider
    PHR_STORE = "phr-store"  # self-produced data stored in Kanta PHR
    RESEARCH = "research"  # a biobank research request
    NEEDS_ASSESSMENT = "needs-assessment"  # an unsolicited offer of services


class Reason(StrEnum):
    """Stable reason codes; `REASON_TEXT` says each one in words a citizen can read."""

    PERMITTED = "permitted"
    NO_CONSENT = "no-consent"
    REFUSED = "refused"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"
    PAUSED = "paused"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    TERMINATED = "terminated"
    NOT_APPROVED = "not-approved"
    PURPOSE = "purpose-not-covered"
    CATEGORIES = "categories-not-covered"
    FREQUENCY = "frequency-exceeded"
    SOURCE = "source-not-covered"
    CHANNEL = "channel-not-covered"
    LIFE_AREA = "life-area-not-covered"
    DUO = "research-use-not-covered"
    WRONG_RECIPIENT = "consent-for-another-recipient"
    NOT_GRANTED = "not-granted"


REASON_TEXT: dict[Reason, str] = {
    Reason.PERMITTED: "Your consent permits this.",
    Reason.NO_CONSENT: "You have not given a consent that covers this recipient.",
    Reason.REFUSED: "You have refused this.",
    Reason.NOT_YET_VALID: "Your consent is not yet in force.",
    Reason.EXPIRED: "Your consent has expired.",
    Reason.PAUSED: "You have paused this consent.",
    Reason.WITHDRAWN: "You have withdrawn this consent.",
    Reason.REVOKED: "This consent was revoked.",
    Reason.TERMINATED: "The provider ended this consent.",
    Reason.NOT_APPROVED: "You have not approved this consent.",
    Reason.PURPOSE: "Your consent does not cover this purpose of use.",
    Reason.CATEGORIES: "Your consent does not cover these kinds of data.",
    Reason.FREQUENCY: "The recipient has already used this consent as often as it allows today.",
    Reason.SOURCE: "Your consent does not cover data from this application or device.",
    Reason.CHANNEL: "Your consent does not cover contact through this channel.",
    Reason.LIFE_AREA: "Your consent does not cover this area of life.",
    Reason.DUO: "Your biobank consent does not cover this kind of research.",
    Reason.WRONG_RECIPIENT: "This consent was given to another recipient.",
    Reason.NOT_GRANTED: "The recipient was not granted access to these kinds of data.",
}
