"""The provider personas and the signed-in citizen, for the tests that set a provider's token
against the citizen API (and a citizen app's against the provider API)."""

from tests.provider_api.conftest import (  # noqa: F401 - fixtures, used by name
    _fast_hashing,
    citizen_browser,
    consent_request,
    provider_client,
)
