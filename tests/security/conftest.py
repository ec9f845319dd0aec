"""The provider API's client fixtures, for the limits tests."""

from tests.provider_api.conftest import (  # noqa: F401 - fixtures used by name
    _fast_hashing,
    other_provider_client,
    provider_client,
)
