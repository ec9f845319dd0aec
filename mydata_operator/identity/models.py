"""People, providers and regulators.

The consent core knows a person only by `Person.id` (a pseudonym); the personal identity
code lives here alone, so the append-only log never holds it and it can be erased.
"""

import uuid

from django.conf import settings
from django.db import models
from oauth2_provider.models import Application


class Person(models.Model):
    """A citizen whose consents the operator holds (also a guardian or mandate holder)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    personal_identity_code = models.CharField(max_length=11, unique=True)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    language = models.CharField(max_length=2, default="fi", choices=settings.LANGUAGES)

    class Meta:
        ordering = ["family_name", "given_name"]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"


class Provider(models.Model):
    """A registered data recipient: care provider, wellbeing county, biobank or wellbeing app."""

    class Kind(models.TextChoices):
        WELLBEING_COUNTY = "wellbeing-county", "Wellbeing services county"
        CARE_PROVIDER = "care-provider", "Health care provider"
        SOCIAL_CARE_PROVIDER = "social-care-provider", "Social care provider"
        OCCUPATIONAL_HEALTH = "occupational-health", "Occupational health care"
        BIOBANK = "biobank", "Biobank"
        WELLBEING_APP = "wellbeing-app", "Wellbeing application"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation_id = models.CharField(max_length=128, unique=True, help_text="Organisation OID")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    application = models.OneToOneField(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="provider"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation_id})"


class Regulator(models.Model):
    """A read-only inspector of the consent log (Valvira, the data protection ombudsman...)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="regulator"
    )
    organisation = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.user} ({self.organisation})"
