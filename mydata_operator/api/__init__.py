"""Shared plumbing of the JSON APIs: problem+json errors, the strict JSON parser, OpenAPI
helpers, and who may see which consents (`access`). The APIs themselves live in their own
packages (`citizen_api`, `provider_api`, the regulator's)."""
