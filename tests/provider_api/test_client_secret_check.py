"""Client secrets are checked with the slow password hasher once, then remembered briefly."""

from typing import Any

import pytest
from django.contrib.auth.hashers import make_password

from mydata_operator.provider_api import auth


@pytest.fixture
def hashings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every slow hash the check computes, by the secret it was asked about."""
    calls: list[str] = []
    real = auth.check_password

    def counting(provided: str, stored: str) -> bool:
        calls.append(provided)
        return real(provided, stored)

    monkeypatch.setattr(auth, "check_password", counting)
    monkeypatch.setattr(auth, "_VERIFIED", {})
    return calls


def test_a_verified_secret_is_not_hashed_again(hashings: list[str]) -> None:
    stored = make_password("right-secret")
    assert auth._secret_ok("right-secret", stored)
    assert auth._secret_ok("right-secret", stored)
    assert hashings == ["right-secret"]


def test_a_wrong_secret_is_hashed_every_time_and_never_remembered(hashings: list[str]) -> None:
    stored = make_password("right-secret")
    assert auth._secret_ok("right-secret", stored)
    assert not auth._secret_ok("wrong-secret", stored)
    assert not auth._secret_ok("wrong-secret", stored)
    assert hashings == ["right-secret", "wrong-secret", "wrong-secret"]


def test_a_rotated_secret_is_checked_against_its_new_hash(hashings: list[str]) -> None:
    old, new = make_password("old-secret"), make_password("new-secret")
    assert auth._secret_ok("old-secret", old)
    assert not auth._secret_ok("old-secret", new)
    assert auth._secret_ok("new-secret", new)


def test_a_remembered_secret_is_hashed_again_after_a_while(
    hashings: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = make_password("right-secret")
    assert auth._secret_ok("right-secret", stored)
    later: Any = auth.time.monotonic() + auth.VERIFIED_SECONDS + 1
    monkeypatch.setattr(auth.time, "monotonic", lambda: later)
    assert auth._secret_ok("right-secret", stored)
    assert hashings == ["right-secret", "right-secret"]
