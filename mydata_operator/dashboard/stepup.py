"""Step-up: a fresh proof of identity before anything that grants, changes, withdraws or
approves a consent. Whether one is needed is the one rule in `mydata_operator.security.stepup`
(shared with the citizen API and the OAuth approval page); how it is proved is here.

A person proves it again with their password, or, once they have enrolled an authenticator
app, with its one-time code (RFC 6238 TOTP). The seam is Django's `authenticate()`: locally
the model backend checks the password; a national e-identification (OpenID Connect, e.g.
Suomi.fi) replaces it with a re-authentication (`prompt=login`, `max_age`) whose callback
calls `step_up_record()` with the ID token's `auth_time`. See docs/dashboard.md.
"""

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils import timezone

from mydata_operator.security.stepup import (  # the one rule; re-exported for the views
    SESSION_KEY,
    step_up_fresh,
    step_up_record,
    step_up_window,
)
from mydata_operator.security.throttle import login_failure_record, login_locked_for

from .models import TotpDevice

__all__ = [
    "SESSION_KEY",
    "step_up_fresh",
    "step_up_method",
    "step_up_record",
    "step_up_verify",
    "step_up_window",
    "totp_accept",
    "totp_code",
    "totp_counter",
    "totp_new_secret",
    "totp_uri",
]

TOTP_STEP = 30
TOTP_DIGITS = 6


def step_up_method(user: Any) -> str:
    """ "totp" when the person has a confirmed authenticator, else "password"."""
    if TotpDevice.objects.filter(user_id=user.pk, confirmed_at__isnull=False).exists():
        return "totp"
    return "password"


def step_up_verify(request: HttpRequest, *, secret: str) -> bool:
    """Check the password (or the one-time code, if enrolled); record a fresh proof if right."""
    user = request.user
    if not user.is_authenticated or not secret:
        return False
    if step_up_method(user) == "totp":
        # A code is 6 digits: throttled and locked like a password (the password path is
        # throttled inside authenticate()).
        device = TotpDevice.objects.get(user_id=user.pk)
        if login_locked_for(request, user.get_username()) or not totp_accept(device, secret):
            login_failure_record(request, user.get_username(), step_up=True)
            return False
    else:
        again = authenticate(request, username=user.get_username(), password=secret)
        if again is None or again.pk != user.pk:
            return False
    step_up_record(request)
    return True


def on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Signing in is itself a fresh proof of identity (receiver of user_logged_in)."""
    if request is not None and hasattr(request, "session"):
        step_up_record(request)


# --- TOTP (RFC 6238 with HMAC-SHA1, 30 s steps, 6 digits: what authenticator apps use) -------


def totp_new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def totp_code(secret: str, counter: int) -> str:
    """The code for one time step (RFC 4226 HOTP over the step counter)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


def totp_counter(at: datetime | None = None) -> int:
    return int((at or timezone.now()).timestamp()) // TOTP_STEP


def totp_accept(device: TotpDevice, code: str, *, at: datetime | None = None) -> bool:
    """Accept a code of this step or the one before/after (clock drift), each only once."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != TOTP_DIGITS:
        return False
    now = totp_counter(at)
    for counter in (now - 1, now, now + 1):
        if counter <= device.last_counter:
            continue
        if hmac.compare_digest(totp_code(device.secret, counter), code):
            updated = TotpDevice.objects.filter(pk=device.pk, last_counter__lt=counter).update(
                last_counter=counter
            )
            return updated == 1  # a concurrent use of the same code loses
    return False


def totp_uri(device: TotpDevice, *, account: str) -> str:
    """otpauth:// URI for an authenticator app (the Key URI Format)."""
    label = quote(f"Tahto:{account}")
    return f"otpauth://totp/{label}?secret={device.secret}&issuer=Tahto&digits=6&period=30"
