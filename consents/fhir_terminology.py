"""Required FHIR R4 bindings and the Kanta PHR profiles Tahto claims: one check, in and out.

fhir.resources checks structure only; FHIR also requires that an element bound with strength
``required`` holds a code of its value set (``Observation.status`` is one of registered,
preliminary, final, ...). The bindings and the value sets' codes are generated from HL7's
published package ``hl7.fhir.r4.core`` 4.0.1 by ``tools/fhir_required_bindings.py`` into
``schemas/vocab/fhir-r4-required-bindings.v1.json`` (not kept by hand). The same function
checks what a wellbeing app submits (before anything is stored or queued), what connectors
send to Kanta, and every exported Consent.

A value set drawn from a code system outside the package (mime types, languages,
currencies) cannot be expanded offline and is not checked; the data file marks each one.

Kanta PHR profiles: Tahto marks self-produced data with
``http://phr.kanta.fi/StructureDefinition/fiphr-sd-<category>``. A resource that claims a
PHR profile must claim one Tahto knows, of a type Kanta PHR stores, whose category matches
the resource's own data-category tag.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import schemas

BINDINGS_FILE = Path(schemas.__file__).resolve().parent / "vocab/fhir-r4-required-bindings.v1.json"

#: Kanta PHR profile for each self-produced category (the stand-in's convention; the real
#: Kanta PHR profile URLs must replace these before connecting to the real archive).
PHR_PROFILE_PREFIX = "http://phr.kanta.fi/StructureDefinition/"
PHR_PROFILE_BASE = PHR_PROFILE_PREFIX + "fiphr-sd-"
#: Resource types Kanta PHR stores.
PHR_TYPES = frozenset({"Observation", "QuestionnaireResponse"})
#: Tahto's data-category code system (consents.fhir re-exports it; kept here so this module
#: imports nothing of Tahto's FHIR export).
DATA_CATEGORY_SYSTEM = "https://schemas.tahto.fi/data-category"

_SHOWN_CODES = 40  # a longer list of allowed codes is cut in the message


@dataclass(frozen=True)
class FhirIssue:
    """One conformance problem: where (FHIRPath-like and JSON pointer), and what is allowed."""

    path: str  # e.g. "Observation.component[0].valueQuantity.comparator"
    pointer: str  # e.g. "/component/0/valueQuantity/comparator", relative to the resource
    message: str
    value_set: str = ""
    allowed: tuple[str, ...] = ()


class FhirConformanceError(ValueError):
    """A resource breaks a required binding or a claimed profile; ``issues`` says each."""

    def __init__(self, issues: list[FhirIssue]):
        self.issues = issues
        super().__init__("; ".join(i.message for i in issues))


@functools.cache
def bindings() -> Mapping[str, Any]:
    """The generated table (see the module docstring)."""
    with BINDINGS_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def known_phr_profiles() -> frozenset[str]:
    """Every PHR profile Tahto claims: one per self-produced category."""
    return frozenset(PHR_PROFILE_BASE + c for c in schemas.codes("selfProducedCategory"))


def fhir_issues(resource: Mapping[str, Any]) -> list[FhirIssue]:
    """Every required-binding and PHR-profile problem of one resource; empty if it conforms."""
    rtype = resource.get("resourceType")
    issues: list[FhirIssue] = []
    if isinstance(rtype, str) and rtype in bindings()["types"]:
        issues.extend(_walk(resource, rtype, rtype, rtype, ""))
    issues.extend(_profile_issues(resource))
    return issues


def fhir_check(resource: Mapping[str, Any]) -> None:
    """Raise FhirConformanceError naming every problem, or return if the resource conforms."""
    issues = fhir_issues(resource)
    if issues:
        raise FhirConformanceError(issues)


# --- required bindings ----------------------------------------------------------------------


def _choice(elements: Mapping[str, Any], prefix: str, key: str) -> tuple[str, str] | None:
    """The choice element (``value[x]``) a JSON key like ``valueQuantity`` stands for."""
    for name, entry in elements.items():
        if not name.startswith(prefix + ".") or not name.endswith("[x]"):
            continue
        base = name[len(prefix) + 1 : -3]
        if "." in base or not key.startswith(base):
            continue
        suffix = key[len(base) :]
        for code in entry.get("types", []):
            if code[:1].upper() + code[1:] == suffix:
                return name, code
    return None


def _walk(
    node: Mapping[str, Any], table: str, prefix: str, path: str, pointer: str
) -> Iterator[FhirIssue]:
    types = bindings()["types"]
    elements = types[table]["elements"]
    for key, value in node.items():
        if key.startswith("_") or key == "resourceType":
            continue
        name = f"{prefix}.{key}"
        entry = elements.get(name)
        chosen: str | None = None
        if entry is None:
            found = _choice(elements, prefix, key)
            if found is None:
                continue
            name, chosen = found
            entry = elements[name]
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            where = f"{path}.{key}" + (f"[{index}]" if isinstance(value, list) else "")
            at = f"{pointer}/{key}" + (f"/{index}" if isinstance(value, list) else "")
            if entry.get("valueSet"):
                issue = _binding_issue(item, entry, chosen, where, at)
                if issue is not None:
                    yield issue
            if not isinstance(item, Mapping):
                continue
            if entry.get("contentReference"):
                target = entry["contentReference"]
                yield from _walk(item, target.split(".", 1)[0], target, where, at)
                continue
            codes = entry.get("types", [])
            code = chosen or (codes[0] if len(codes) == 1 else None)
            if code in ("BackboneElement", "Element"):
                yield from _walk(item, table, name, where, at)
            elif code == "Resource":
                inner = item.get("resourceType")
                if isinstance(inner, str) and inner in bindings()["resourceTypes"]:
                    yield from _walk(item, inner, inner, f"{where}.ofType({inner})", at)
            elif isinstance(code, str) and code in types:
                yield from _walk(item, code, code, where, at)


def _binding_issue(
    item: Any, entry: Mapping[str, Any], chosen: str | None, where: str, at: str
) -> FhirIssue | None:
    url = entry["valueSet"]
    value_set = bindings()["valueSets"].get(url) or {}
    codes_by_system: Mapping[str, list[str]] | None = value_set.get("codes")
    if codes_by_system is None:
        return None  # drawn from a code system outside the package: not checked offline
    allowed = tuple(sorted({c for codes in codes_by_system.values() for c in codes}))
    kind = chosen or (entry.get("types") or ["code"])[0]
    if kind == "CodeableConcept" and isinstance(item, Mapping):
        codings = item.get("coding") or []
        if any(_in(codes_by_system, c) for c in codings if isinstance(c, Mapping)):
            return None
        shown = ", ".join(_shown(codings)) or "no coding"
    elif kind == "Coding" and isinstance(item, Mapping):
        if _in(codes_by_system, item):
            return None
        shown = next(iter(_shown([item])), "no code")
    else:
        if isinstance(item, str) and item in allowed:
            return None
        shown = repr(item)
    listed = ", ".join(allowed[:_SHOWN_CODES]) + (" ..." if len(allowed) > _SHOWN_CODES else "")
    return FhirIssue(
        path=where,
        pointer=at,
        message=(f"{where}: {shown} is not in the required value set {url}; allowed: {listed}."),
        value_set=url,
        allowed=allowed,
    )


def _in(codes_by_system: Mapping[str, list[str]], coding: Mapping[str, Any]) -> bool:
    return coding.get("code") in codes_by_system.get(str(coding.get("system")), ())


def _shown(codings: list[Any]) -> list[str]:
    return [
        f"{c.get('system', '(no system)')}|{c.get('code', '')}"
        for c in codings
        if isinstance(c, Mapping)
    ]


# --- Kanta PHR profiles ---------------------------------------------------------------------


def _profile_issues(resource: Mapping[str, Any]) -> Iterator[FhirIssue]:
    rtype = str(resource.get("resourceType"))
    meta = resource.get("meta") or {}
    profiles = meta.get("profile") or [] if isinstance(meta, Mapping) else []
    tags = meta.get("tag") or [] if isinstance(meta, Mapping) else []
    tagged = {
        t.get("code")
        for t in tags
        if isinstance(t, Mapping) and t.get("system") == DATA_CATEGORY_SYSTEM
    }
    known = known_phr_profiles()
    for index, profile in enumerate(profiles):
        if not str(profile).startswith(PHR_PROFILE_PREFIX):
            continue
        where, at = f"{rtype}.meta.profile[{index}]", f"/meta/profile/{index}"
        if profile not in known:
            yield FhirIssue(
                where,
                at,
                f"{where}: {profile!r} is not a Kanta PHR profile Tahto supports; allowed: "
                + ", ".join(sorted(known))
                + ".",
                allowed=tuple(sorted(known)),
            )
            continue
        if rtype not in PHR_TYPES:
            yield FhirIssue(
                where,
                at,
                f"{where}: a Kanta PHR profile applies only to {', '.join(sorted(PHR_TYPES))}, "
                f"not to {rtype}.",
            )
            continue
        category = str(profile)[len(PHR_PROFILE_BASE) :]
        if tagged and category not in tagged:
            allowed = tuple(PHR_PROFILE_BASE + t for t in sorted(str(x) for x in tagged))
            yield FhirIssue(
                where,
                at,
                f"{where}: the profile is for {category} data, but the resource is tagged "
                f"as {', '.join(sorted(str(t) for t in tagged))} ({DATA_CATEGORY_SYSTEM}); "
                f"allowed: {', '.join(allowed)}.",
                allowed=allowed,
            )
