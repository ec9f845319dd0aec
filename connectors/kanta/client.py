"""Kanta's FHIR endpoint: the shared FHIR client pointed at the configured Kanta URL."""

from __future__ import annotations

from django.conf import settings

from ..fhir.client import FhirClient


def kanta_client() -> FhirClient:
    """A FHIR client for Kanta (``TAHTO_KANTA_URL``), read at call time so tests can move it."""
    return FhirClient(settings.TAHTO_KANTA_URL)
