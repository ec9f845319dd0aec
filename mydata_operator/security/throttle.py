"""Sign-in and step-up throttling with lockout, and the per-provider consent request limit.

* Sign-in and step-up (password or one-time code): failures are counted per user name and
  per client address; `TAHTO_LOGIN_FAILURES` failures within the window lock the user name
  (`TAHTO_LOGIN_LOCKOUT_SECONDS`), and a locked user name is refused even with the right
  password. Every failure and every refusal is a `SecurityEvent`.
* Consent requests (per authenticated provider) answer 429 problem+json with Retry-After once
  their rate is used up; the token endpoint's rate and the client lockout are in clients.py.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from . import limits
from .events import client_address, event_record, refusal_record
from .models import SecurityEvent
from .sessions import session_stamp

Kind = SecurityEvent.Kind


# --- Sign-in and step-up ------------------------------------------------------------------------


def _login_rate() -> limits.Rate:
    return limits.Rate(settings.TAHTO_LOGIN_FAILURES, settings.TAHTO_LOGIN_WINDOW_SECONDS)


def _address_rate() -> limits.Rate:
    return limits.Rate(settings.TAHTO_LOGIN_ADDRESS_FAILURES, settings.TAHTO_LOGIN_WINDOW_SECONDS)


def login_locked_for(request: HttpRequest | None, username: str) -> int:
    """Seconds before this user name (or this address) may try to sign in again; 0: now."""
    address = client_address(request)
    return max(
        limits.locked_for("login", username.casefold()),
        limits.locked_for("login-address", address) if address else 0,
    )


def login_failure_record(request: HttpRequest | None, username: str, *, step_up: bool) -> None:
    """Count and log one failed sign-in or step-up (locked: log that it was refused)."""
    lockout = settings.TAHTO_LOGIN_LOCKOUT_SECONDS
    already = login_locked_for(request, username)
    if already:
        kind = Kind.STEP_UP_LOCKED if step_up else Kind.LOGIN_LOCKED
        refusal_record(kind, request=request, who=username, lockedForSeconds=already)
        return
    locked = limits.failure_record("login", username.casefold(), _login_rate(), lockout)
    if address := client_address(request):
        locked = max(
            locked, limits.failure_record("login-address", address, _address_rate(), lockout)
        )
    kind = Kind.STEP_UP_FAILED if step_up else Kind.LOGIN_FAILED
    event_record(kind, request=request, who=username, lockedForSeconds=locked)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Receiver of user_login_failed (a wrong password, or a refusal while locked)."""
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username"))
    user = getattr(request, "user", None) if request is not None else None
    step_up = bool(user is not None and user.is_authenticated)  # signed in: a step-up
    login_failure_record(request, username, step_up=step_up)


def on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Receiver of user_logged_in: forget the user name's earlier failures; start the
    session's idle and absolute clocks."""
    limits.failures_clear("login", user.get_username().casefold())
    if request is not None and hasattr(request, "session"):
        session_stamp(request)


class ThrottledModelBackend(ModelBackend):
    """Django's password check, refused outright while the user name or address is locked."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        name = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if name is not None and login_locked_for(request, str(name)):
            raise PermissionDenied("locked")  # authenticate() stops and reports a failure
        return super().authenticate(request, username=username, password=password, **kwargs)


def _lockout_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return _("Too many failed attempts. Signing in is locked for %(minutes)d more minutes.") % {
        "minutes": minutes
    }


class ThrottledAuthenticationForm(AuthenticationForm):
    """The sign-in form: says when signing in is locked instead of 'wrong password'."""

    locked_message = ""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            username = self.cleaned_data.get("username") or ""
            if seconds := login_locked_for(self.request, username):
                self.locked_message = _lockout_message(seconds)
                raise ValidationError(self.locked_message, code="locked") from None
            raise


# --- Provider limits ------------------------------------------------------------------------------


class ConsentRequestThrottle(BaseThrottle):
    """At most TAHTO_CONSENT_REQUEST_RATE consent requests per authenticated provider."""

    wait_seconds = 0

    def allow_request(self, request: Request, view: Any) -> bool:
        provider = getattr(request.user, "organisation_id", None)
        if provider is None:
            return True  # not a provider: authentication and permissions refuse it
        rate = limits.Rate.parse(settings.TAHTO_CONSENT_REQUEST_RATE)
        self.wait_seconds = limits.rate_take("consent-requests", str(provider), rate)
        if self.wait_seconds:
            refusal_record(
                Kind.RATE_LIMITED, request=request, who=str(provider), limit="consent-requests"
            )
        return not self.wait_seconds

    def wait(self) -> float | None:
        return self.wait_seconds or None
