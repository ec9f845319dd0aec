"""Providers: push permitted data to a provider's FHIR endpoint; signed consent notifications."""
