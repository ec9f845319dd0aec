"""OpenAPI descriptions of the provider API's bodies (validation is by JSON Schema)."""

from rest_framework import serializers

from consents.kinds import kind_codes

from .selectors import PUBLIC_STATUSES


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Start (RFC 3339); omitted: when approved"
    )
    end = serializers.DateTimeField(allow_null=True, help_text="End of the consent (RFC 3339)")


class SubjectSerializer(serializers.Serializer):
    personalIdentityCode = serializers.CharField(
        help_text="The citizen's personal identity code; never returned"
    )


class NoticeSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The provider's explanation shown to the citizen")
    language = serializers.ChoiceField(choices=["fi", "sv", "en"], help_text="Its language")


class ConsentRequestBodySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=kind_codes(),
        help_text="The consent kind asked for",
    )
    scope = serializers.JSONField(
        help_text="Kind-specific scope (JSON Schema /schemas/consent-kinds/<kind>.v1.json); "
        "must name your own organisation as the recipient"
    )
    period = PeriodSerializer(help_text="The period asked for; end is required")
    purpose = serializers.CharField(required=False, help_text="Purpose, if the scope has none")
    subject = SubjectSerializer(help_text="The citizen the request concerns")
    requestValidForDays = serializers.IntegerField(
        required=False, min_value=1, max_value=90, help_text="Days to wait for an answer (30)"
    )
    notice = NoticeSerializer(required=False, help_text="Your explanation for the citizen")


class LinkSerializer(serializers.Serializer):
    href = serializers.CharField(help_text="The link target")
    description = serializers.CharField(required=False, help_text="What to do with it")


class ConsentLinksSerializer(serializers.Serializer):
    self = LinkSerializer(help_text="This consent request")
    status = LinkSerializer(help_text="Its status alone")
    scaOAuth = LinkSerializer(
        required=False,
        help_text="The authorize URL to send the citizen to (data-access kinds)",
    )
    scaRedirect = LinkSerializer(
        required=False, help_text="Where the citizen approves (other kinds)"
    )


class ConsentRequestSerializer(serializers.Serializer):
    consentId = serializers.UUIDField(help_text="The consent's id (stays across versions)")
    consentStatus = serializers.ChoiceField(
        choices=PUBLIC_STATUSES,
        help_text="received, valid, paused, rejected, withdrawn (NextGenPSD2 revokedByPsu), "
        "revoked (ended by the operator or a mandate ending), expired, terminatedByProvider",
    )
    kind = serializers.CharField(help_text="The consent kind")
    version = serializers.IntegerField(help_text="Version; the citizen may narrow a consent")
    scope = serializers.JSONField(help_text="The scope now in force (or asked for)")
    period = PeriodSerializer(help_text="The consent's period")
    requestValidUntil = serializers.DateTimeField(
        allow_null=True, help_text="When an unanswered request expires"
    )
    createdAt = serializers.DateTimeField(help_text="When it was requested")
    updatedAt = serializers.DateTimeField(help_text="When its status last changed")
    _links = ConsentLinksSerializer(help_text="Links (NextGenPSD2 style)")


class ConsentStatusSerializer(serializers.Serializer):
    consentStatus = serializers.ChoiceField(
        choices=PUBLIC_STATUSES, help_text="The consent's status now"
    )


class BundleSerializer(serializers.Serializer):
    resourceType = serializers.CharField(help_text="Always Bundle")
    type = serializers.CharField(help_text="Always searchset")
    total = serializers.IntegerField(required=False, help_text="Number of matches")
    entry = serializers.ListField(
        child=serializers.JSONField(), required=False, help_text="FHIR R4 entries {resource}"
    )


class WebhookBodySerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Where consent change notifications are POSTed")


class WebhookSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The webhook's id")
    url = serializers.URLField(help_text="Where notifications go")
    active = serializers.BooleanField(help_text="Whether deliveries are made")
    createdAt = serializers.DateTimeField(help_text="When it was registered")


class WebhookListSerializer(serializers.Serializer):
    webhooks = WebhookSerializer(many=True, help_text="Your registered webhooks")
