"""Shared pieces of the JSON API: problem+json errors and the strict JSON parser."""
