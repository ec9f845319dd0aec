"""Every URL of the service, as every persona, answers as `table.py` says; a URL without an
entry in the table fails the test, so a new URL cannot go unreviewed.

Each request runs in a transaction that is rolled back, so a permitted change (a withdrawal,
a webhook removed) does not change what the next persona sees. Set TAHTO_MATRIX_DUMP=<file>
to write what was observed (to help write a new entry, never to copy without reading).
"""

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.fixtures.kanta import KantaStandIn

from .table import ADMIN, ANY, INPUT, LOGIN, TABLE
from .world import PERSONAS, World, build_world, provider_headers


@dataclass(frozen=True)
class Route:
    key: str  # the table's key: the URL's name ("namespace:name"), or "route:<pattern>"
    name: str | None
    pattern: str  # the full route, as written in the URLconfs
    namespace: str | None


def _walk(patterns: list[Any], prefix: str = "", ns: str | None = None) -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = f"{ns}:{p.namespace}" if ns and p.namespace else (p.namespace or ns)
            yield from _walk(p.url_patterns, prefix + str(p.pattern), inner)
        elif isinstance(p, URLPattern):
            name = f"{ns}:{p.name}" if ns and p.name else p.name
            route = prefix + str(p.pattern)
            yield Route(name or f"route:{route}", name, route, ns)


def routes() -> list[Route]:
    """Every URL pattern of the service, once (a pattern shadowed by an earlier one with the
    same name and route is the same URL)."""
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver().url_patterns):
        seen.setdefault(route.key, route)
    return list(seen.values())


def is_admin(route: Route) -> bool:
    return route.pattern.startswith("admin/")


def cases(route: Route) -> list[dict[str, Any]]:
    entry = TABLE.get(route.key) or ADMIN
    return list(entry["cases"]) if "cases" in entry else [entry]


# --- Making the URL ---------------------------------------------------------------------------


def _admin_model(route: Route) -> Any:
    """The model of an admin pattern named "admin:<app>_<model>_<view>", or None."""
    if route.name is None:  # "admin/<app>/<model>/<path:object_id>/"
        app_label, _, rest = route.pattern.removeprefix("admin/").partition("/")
        try:
            return apps.get_model(app_label, rest.partition("/")[0])
        except (LookupError, ValueError):
            return None
    parts = route.name.removeprefix("admin:").split("_")
    for cut in range(1, len(parts) - 1):  # app labels may contain "_" (oauth2_provider)
        try:
            return apps.get_model("_".join(parts[:cut]), "_".join(parts[cut:-1]))
        except (LookupError, ValueError):
            continue
    return None


def _admin_kwargs(route: Route, world: World) -> dict[str, str]:
    """Path values for the admin's patterns: a real object of the pattern's model."""
    names = {a or b for a, b in re.findall(r"\(\?P<(\w+)>|<(?:\w+:)?(\w+)>", route.pattern)}
    model = _admin_model(route)
    first = (
        model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        if model
        else None
    )
    kwargs: dict[str, str] = {}
    for name in names:
        if route.name == "admin:view_on_site":
            person = ContentType.objects.get(app_label="identity", model="person")
            kwargs.update(content_type_id=str(person.pk), object_id=world.ids["aino_person"])
        elif name in ("object_id", "id"):
            kwargs[name] = str(first if first is not None else world.ids["staff_user"])
        elif name == "app_label":
            kwargs[name] = "identity"
        elif name == "url":
            kwargs[name] = "no-such-page/"
    return kwargs


def url_for(route: Route, case: dict[str, Any], world: World) -> str:
    if is_admin(route):
        kwargs = _admin_kwargs(route, world)
    else:
        kwargs = {k: world.ids.get(v, v) for k, v in case.get("kwargs", {}).items()}
    if route.name:
        return reverse(route.name, kwargs=kwargs)
    path = route.pattern
    for key, value in kwargs.items():
        path = re.sub(rf"<(?:\w+:)?{key}>|\(\?P<{key}>[^)]*\)", value, path)
    return "/" + path.lstrip("^").rstrip("$")


# --- Asking and judging -----------------------------------------------------------------------

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
BODY_METHODS = {"POST", "PUT", "PATCH"}


def ask(world: World, persona: str, method: str, url: str, case: dict[str, Any]) -> Any:
    """One request as the persona, in a transaction that is rolled back afterwards."""
    client = world.client(persona)
    headers = provider_headers(world, persona, case.get("auth", "client"), method, url)
    kwargs: dict[str, Any] = {}
    if method in BODY_METHODS:
        if "form" in case:
            kwargs = {"data": case["form"]}
        else:
            kwargs = {"data": json.dumps(case.get("body", {})), "content_type": "application/json"}
    cache.clear()  # no limit counted from an earlier request
    with transaction.atomic():
        call = getattr(client, method.lower())
        response = call(url, **kwargs, **headers)
        transaction.set_rollback(True)
    return response


def observed(response: Any) -> str:
    status = response.status_code
    if 300 <= status < 400:
        location = response.get("Location", "")
        if "/accounts/login/" in location or "/admin/login/" in location:
            return LOGIN
        return "3xx"
    if 200 <= status < 300:
        return "2xx"
    return str(status)


def matches(expected: str | int, got: str) -> bool:
    if expected == ANY:
        return not got.startswith("5")
    if expected == INPUT:
        return got in ("400", "409", "422")
    return str(expected) == got


# --- The tests --------------------------------------------------------------------------------


def missing_entries(table: dict[str, Any]) -> list[str]:
    """The URLs that have no entry (the admin's follow the rule ADMIN unless listed)."""
    return sorted(r.key for r in routes() if r.key not in table and not is_admin(r))


def test_every_url_has_an_entry_in_the_table() -> None:
    every = routes()
    assert any(is_admin(r) for r in every), "the admin's URLs are walked too (rule ADMIN)"
    missing = missing_entries(TABLE)
    assert not missing, (
        f"URLs without an entry in tests/authorisation/table.py (say who may use them): {missing}"
    )
    stale = sorted(set(TABLE) - {r.key for r in every})
    assert not stale, f"entries in tests/authorisation/table.py for no URL: {stale}"


def test_a_url_without_an_entry_is_named() -> None:
    without = {k: v for k, v in TABLE.items() if k != "me-consent-action"}
    assert missing_entries(without) == ["me-consent-action"]


def test_more_access_than_the_table_says_is_a_mismatch() -> None:
    assert not matches(404, "2xx") and not matches(LOGIN, "2xx") and not matches(ANY, "500")
    assert matches(INPUT, "422") and not matches(INPUT, "2xx") and matches(ANY, "403")


def test_every_entry_names_every_persona() -> None:
    incomplete = []
    for key, entry in TABLE.items():
        for case in entry.get("cases", [entry]):
            assert "GET" in case, f"{key}: every entry says what GET answers"
            for method in METHODS:
                if method in case and set(case[method]) != set(PERSONAS):
                    incomplete.append(
                        f"{key} {method}: {sorted(set(PERSONAS) ^ set(case[method]))}"
                    )
    assert not incomplete, incomplete


def walk(world: World, selected: list[Route]) -> list[str]:
    """Ask every selected URL as every persona; return what differs from the table."""
    wrong: list[str] = []
    seen: dict[str, Any] = {}
    for route in selected:
        for index, case in enumerate(cases(route)):
            url = url_for(route, case, world)
            for method in [m for m in METHODS if m in case]:
                for persona in PERSONAS:
                    got = observed(ask(world, persona, method, url, case))
                    seen.setdefault(f"{route.key}#{index} {method} {url}", {})[persona] = got
                    expected = case[method][persona]
                    if not matches(expected, got):
                        wrong.append(
                            f"{method} {url} ({route.key}) as {persona}: "
                            f"expected {expected}, got {got}"
                        )
    if dump := os.environ.get("TAHTO_MATRIX_DUMP"):
        with open(dump, "a") as out:
            json.dump(seen, out, indent=1)
    return wrong


@pytest.fixture
def world(frozen_now: datetime, kanta: KantaStandIn, settings: Any) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_world(frozen_now)


@pytest.mark.django_db
def test_every_url_answers_every_persona_as_the_table_says(world: World) -> None:
    wrong = walk(world, [r for r in routes() if not is_admin(r)])
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_the_admin_answers_only_operator_staff(world: World) -> None:
    wrong = walk(world, [r for r in routes() if is_admin(r)])
    assert not wrong, "\n".join(wrong)
