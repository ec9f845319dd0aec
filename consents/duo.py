"""GA4GH Data Use Ontology (DUO) matching: may a research request use a donor's biobank data?

A pure function of a biobank consent scope (schema ``consent-kinds/biobank.v1``) and a research
request (``requests/research-request.v1``); no Django, no database. The caller validates both
documents first; this module still fails closed on anything it does not understand.

The codes and their meaning, after the DUO ontology (EBISPOT/DUO, duo.csv):

Permissions, and what each covers here (a request's purpose must lie wholly inside the
consent's permission; the DUOS matching rules agree, DataBiosphere/consent-ontology
``DataUseMatchCasesV4``):
  NRES DUO:0000004 no restriction                    -> every purpose
  GRU  DUO:0000042 general research use              -> GRU, HMB, DS (any disease), POA
                                                         (DUOS: POA and DS approved under GRU)
  HMB  DUO:0000006 health/medical/biomedical research -> HMB, DS; "does not include the study
                                                         of population origins or ancestry"
                                                         (DUOS: GRU and POA denied under HMB)
  DS   DUO:0000007 disease specific research          -> DS of the same ICD-10 code or a more
                                                         specific one (C50 covers C50.9, not C51)
  POA  DUO:0000011 population origins or ancestry     -> POA only

Modifiers:
  requirements the request must declare: NPU DUO:0000045 (not-for-profit organisation use
  only), NCU DUO:0000046 (non-commercial use only), NPUNCU DUO:0000018 (both: declared as
  NPUNCU or as NPU and NCU together; an NPUNCU declaration also meets NPU and NCU), IRB
  DUO:0000021 (ethics approval), COL DUO:0000020 (collaboration), PUB DUO:0000019
  (publication), RTN DUO:0000029 (return derived data), GSO DUO:0000016 (genetic studies
  only), US DUO:0000026 (approved users), RS DUO:0000012 (research type), GS DUO:0000022
  (geographic region). For US, RS and GS the biobank's access committee vets the claim; Tahto
  checks that the request makes it.
  NPOA DUO:0000044: population origins or ancestry research prohibited. A POA request fails,
  and so do GRU and NRES requests, whose purpose ("any research purpose", "no restriction")
  includes the prohibited research.
  NMDS DUO:0000015: no methods development research (methodsDevelopment true fails).
  IS DUO:0000028 / PS DUO:0000027: the request's institution / project must be listed.
  TS DUO:0000025: use only before restrictions.until.
  MOR DUO:0000024: no publication before restrictions.moratoriumUntil; it limits publishing,
  not access, so the match stays ok and the detail says so (code ``duo.moratorium``).
  Not supported (a consent cannot carry them; the schema's enum refuses them): CC
  DUO:0000043 clinical care use, which widens use beyond research, and codes outside DUO.

Samples and data categories, one rule: ``samples`` is covered exactly when
``samples.collect`` is true and ``register-data`` exactly when ``registerLinking.allowed`` is
true (separate acts under the Finnish Biobank Act, each answered once by the donor); any
other category must be listed in the consent's ``dataCategories``. Listing ``samples`` or
``register-data`` there as well is allowed (the schema lets it only with the matching act)
and changes nothing: see ``covered_categories``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_Doc = Mapping[str, Any]

PERMISSION_COVERS: dict[str, frozenset[str]] = {
    "NRES": frozenset({"NRES", "GRU", "HMB", "DS", "POA"}),
    "GRU": frozenset({"GRU", "HMB", "DS", "POA"}),
    "HMB": frozenset({"HMB", "DS"}),
    "DS": frozenset({"DS"}),
    "POA": frozenset({"POA"}),
}

#: Requirement modifiers, in the order they are checked, with the sentence a citizen reads.
REQUIREMENTS: dict[str, str] = {
    "NPU": "The consent allows use only by not-for-profit organisations (DUO NPU)",
    "NCU": "The consent allows only non-commercial use (DUO NCU)",
    "NPUNCU": "The consent allows only non-commercial use by not-for-profit organisations "
    "(DUO NPUNCU)",
    "IRB": "The consent requires approval by a research ethics committee (DUO IRB)",
    "COL": "The consent requires collaboration with the biobank's original researchers (DUO COL)",
    "PUB": "The consent requires that the results are published (DUO PUB)",
    "RTN": "The consent requires that data derived in the research is returned to the biobank "
    "(DUO RTN)",
    "GSO": "The consent allows only genetic studies (DUO GSO)",
    "US": "The consent allows use only by approved users (DUO US)",
    "RS": "The consent allows only certain types of research (DUO RS)",
    "GS": "The consent allows use only within a certain geographic region (DUO GS)",
}

#: What each requirement asks of the request, as the plain requirements it stands for.
_MEANS: dict[str, frozenset[str]] = {"NPUNCU": frozenset({"NPU", "NCU"})}

#: Purposes whose scope includes population origins or ancestry research (refused by NPOA).
_INCLUDES_POA = frozenset({"POA", "GRU", "NRES"})

#: Every modifier this module understands; a consent with any other one matches nothing.
KNOWN_MODIFIERS = frozenset(REQUIREMENTS) | {"NPOA", "NMDS", "IS", "PS", "TS", "MOR"}

_PURPOSE_TEXT = {
    "NRES": "any use without restriction",
    "GRU": "general research use",
    "HMB": "health, medical or biomedical research",
    "DS": "research on a specific disease",
    "POA": "research on population origins or ancestry",
}


@dataclass(frozen=True)
class DuoMatch:
    """The answer: ok, a stable machine reason code, and a sentence a citizen can read."""

    ok: bool
    code: str
    detail: str


def covered_categories(consent_scope: Mapping[str, Any]) -> frozenset[str]:
    """The data categories a biobank consent covers: samples by ``samples.collect``,
    register data by ``registerLinking.allowed``, the rest by ``dataCategories``."""
    listed = set(consent_scope.get("dataCategories", [])) - {"samples", "register-data"}
    if consent_scope.get("samples", {}).get("collect") is True:
        listed.add("samples")
    if consent_scope.get("registerLinking", {}).get("allowed") is True:
        listed.add("register-data")
    return frozenset(listed)


def disease_covers(consented: str, requested: str) -> bool:
    """True if research on ICD-10 code `requested` is within a consent for `consented`.

    The same code or a more specific one: C50 covers C50 and C50.9; C50.9 covers C50.91;
    C50 does not cover C51, and C50.9 does not cover C50.
    """
    consented, requested = consented.strip().upper(), requested.strip().upper()
    if requested == consented:
        return True
    if "." in consented:
        return requested.startswith(consented)
    return requested.startswith(consented + ".")


def duo_match(
    consent_scope: Mapping[str, Any], request: Mapping[str, Any], *, at: dt.datetime
) -> DuoMatch:
    """Match a research request against one biobank consent scope at moment `at` (aware)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("duo_match needs a timezone-aware datetime for `at`")

    for check in (_biobank, _permission, _categories, _modifiers):
        refusal = check(consent_scope, request, at)
        if refusal is not None:
            return refusal

    permission = consent_scope.get("permission", {}).get("code")
    purpose = request.get("purpose", {}).get("code")
    restrictions = consent_scope.get("restrictions", {})
    covered = f"The consent (DUO {permission}) covers the request (DUO {purpose})"
    if "MOR" in consent_scope.get("modifiers", []) or "moratoriumUntil" in restrictions:
        until = _parse_time(restrictions.get("moratoriumUntil"))
        if until is None or at < until:
            when = f" before {until:%Y-%m-%d}" if until is not None else " until a set date"
            return DuoMatch(
                True,
                "duo.moratorium",
                f"{covered}, but its results may not be published{when} (DUO MOR).",
            )
    return DuoMatch(True, "duo.match", f"{covered}.")


def _biobank(scope: _Doc, request: _Doc, at: dt.datetime) -> DuoMatch | None:
    asked = request.get("biobank")
    biobank = scope.get("biobank", {})
    if asked is not None and asked != biobank.get("organisation"):
        name = biobank.get("name") or "another biobank"
        return DuoMatch(
            False,
            "duo.other-biobank",
            f"The consent was given to {name}; the request is addressed to another biobank.",
        )
    return None


def _permission(scope: _Doc, request: _Doc, at: dt.datetime) -> DuoMatch | None:
    permission = scope.get("permission", {})
    code = permission.get("code")
    purpose = request.get("purpose", {})
    wanted = purpose.get("code")
    allowed = f"{_PURPOSE_TEXT.get(code, 'an unknown use')} (DUO {code})"
    if code == "DS":
        allowed = f"research only on the disease {permission.get('disease')} (DUO DS)"
    if wanted not in PERMISSION_COVERS.get(code, frozenset()):
        asked = _PURPOSE_TEXT.get(wanted, "an unknown purpose")
        return DuoMatch(
            False,
            "duo.permission-not-covered",
            f"The consent allows {allowed}; the request is for {asked} (DUO {wanted}).",
        )
    if code == "DS" and wanted == "DS":
        consented, requested = permission.get("disease"), purpose.get("disease")
        if not (consented and requested and disease_covers(consented, requested)):
            return DuoMatch(
                False,
                "duo.disease-not-covered",
                f"The consent allows research only on the disease {consented} and its "
                f"subtypes (DUO DS); the request concerns {requested or 'no named disease'}.",
            )
    if wanted in _INCLUDES_POA and "NPOA" in scope.get("modifiers", []):
        return DuoMatch(
            False,
            "duo.permission-not-covered",
            "The consent forbids research on population origins or ancestry (DUO NPOA); "
            + (
                "the request is for such research (DUO POA)."
                if wanted == "POA"
                else f"the request is for {_PURPOSE_TEXT[wanted]} (DUO {wanted}), which "
                "includes it."
            ),
        )
    return None


def _categories(scope: _Doc, request: _Doc, at: dt.datetime) -> DuoMatch | None:
    covered = covered_categories(scope)
    for category in request.get("dataCategories", []):
        if category in covered:
            continue
        if category == "samples":
            return DuoMatch(
                False,
                "duo.samples-not-consented",
                "The consent does not allow the biobank to hold samples; "
                "the request asks for samples.",
            )
        if category == "register-data":
            return DuoMatch(
                False,
                "duo.register-linking-not-consented",
                "The consent does not allow linking register data; "
                "the request asks for register data.",
            )
        return DuoMatch(
            False,
            "duo.category-not-consented",
            f"The consent does not cover the data category {category}; the request asks for it.",
        )
    return None


def _modifiers(scope: _Doc, request: _Doc, at: dt.datetime) -> DuoMatch | None:
    modifiers = list(scope.get("modifiers", []))
    restrictions = scope.get("restrictions", {})
    declared: set[str] = set()
    for code in request.get("declarations", []):
        declared |= _MEANS.get(code, frozenset({code}))

    unknown = [m for m in modifiers if m not in KNOWN_MODIFIERS]
    if unknown:
        return DuoMatch(
            False,
            f"duo.modifier-unknown:{unknown[0]}",
            f"The consent has a condition Tahto cannot check (DUO {unknown[0]}), "
            "so no request can be matched against it.",
        )
    if "NMDS" in modifiers and request.get("methodsDevelopment"):
        return DuoMatch(
            False,
            "duo.methods-forbidden",
            "The consent does not allow developing general research methods such as software "
            "or algorithms (DUO NMDS); the request is for such research.",
        )
    for modifier, sentence in REQUIREMENTS.items():
        if modifier in modifiers and not _MEANS.get(modifier, frozenset({modifier})) <= declared:
            return DuoMatch(
                False,
                f"duo.modifier-unsatisfied:{modifier}",
                f"{sentence}; the request does not declare it.",
            )
    if "IS" in modifiers or "institutions" in restrictions:
        institution = request.get("institution")
        if institution is None or institution not in restrictions.get("institutions", []):
            return DuoMatch(
                False,
                "duo.institution-not-allowed",
                "The consent allows use only within approved institutions (DUO IS); "
                + (
                    "the request does not name its institution."
                    if institution is None
                    else "the requesting institution is not one of them."
                ),
            )
    if "PS" in modifiers or "projects" in restrictions:
        project = request.get("project")
        if project is None or project not in restrictions.get("projects", []):
            return DuoMatch(
                False,
                "duo.project-not-allowed",
                "The consent allows use only in approved projects (DUO PS); "
                + (
                    "the request does not name its project."
                    if project is None
                    else "the request's project is not one of them."
                ),
            )
    if "TS" in modifiers or "until" in restrictions:
        until = _parse_time(restrictions.get("until"))
        if until is None or at >= until:
            ended = f" on {until:%Y-%m-%d}" if until is not None else ""
            return DuoMatch(
                False,
                "duo.time-limit-passed",
                f"The consent allowed use for a limited time (DUO TS), which ended{ended}.",
            )
    return None


def _parse_time(value: object) -> dt.datetime | None:
    """An RFC 3339 date-time with a zone, or None if absent or unreadable (callers fail closed)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
