"""Who may use the regulator views: signed-in users with a Regulator account, read-only.

Every view takes GET (and HEAD) only; any other method gets 405 before anything else is
looked at. Citizens, providers and operator staff without a Regulator account get 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from mydata_operator.identity.models import Regulator

ONLY_REGULATORS = _("Only regulators may inspect the consent log.")


def regulator_for(user: Any) -> Regulator | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Regulator.objects.select_related("user").filter(user_id=user.pk).first()


View = Callable[..., HttpResponseBase]


def regulator_required(view: View) -> View:
    """A page for regulators only: GET/HEAD, login first, 403 for everyone else."""

    @require_safe
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        regulator = regulator_for(request.user)
        if regulator is None:
            raise PermissionDenied(str(ONLY_REGULATORS))
        return view(request, regulator, *args, **kwargs)

    return wrapper


class IsRegulator(BasePermission):
    """DRF: a signed-in regulator, and only safe methods."""

    message = ONLY_REGULATORS

    def has_permission(self, request: Request, view: Any) -> bool:
        return (
            request.method in ("GET", "HEAD", "OPTIONS") and regulator_for(request.user) is not None
        )
