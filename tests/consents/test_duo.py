"""DUO matching: each rule of a biobank consent against a research request, as a table."""

import copy
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

import schemas
from consents.duo import REQUIREMENTS, DuoMatch, covered_categories, disease_covers, duo_match

AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
BIOBANK = "1.2.246.10.12345678.10.0"
INSTITUTION = "1.2.246.10.2345678.10.0"
CLINICAL = ["demographics", "conditions", "medications", "observations"]

CONSENT = {
    "biobank": {"organisation": BIOBANK, "name": "Auria Biobank"},
    "samples": {"collect": True, "types": ["blood"]},
    "registerLinking": {"allowed": True, "sources": ["kanta"]},
    "dataCategories": [*CLINICAL, "samples", "register-data"],
    "permission": {"code": "GRU"},
    "modifiers": [],
    "recontact": False,
}
REQUEST = {
    "biobank": BIOBANK,
    "purpose": {"code": "HMB"},
    "declarations": [],
    "dataCategories": ["conditions"],
}


def consent(**changes):
    scope = copy.deepcopy(CONSENT)
    scope.update(changes)
    return scope


def request(**changes):
    body = copy.deepcopy(REQUEST)
    body.update(changes)
    return body


def ds(disease):
    return {"code": "DS", "disease": disease}


# (consent changes, request changes, expected ok, expected code)
TABLE = [
    # Permissions.
    ({"permission": {"code": "NRES"}}, {"purpose": {"code": "NRES"}}, True, "duo.match"),
    ({"permission": {"code": "NRES"}}, {"purpose": {"code": "POA"}}, True, "duo.match"),
    ({}, {"purpose": {"code": "GRU"}}, True, "duo.match"),
    ({}, {"purpose": {"code": "HMB"}}, True, "duo.match"),
    ({}, {"purpose": ds("E11")}, True, "duo.match"),
    ({}, {"purpose": {"code": "POA"}}, True, "duo.match"),
    ({}, {"purpose": {"code": "NRES"}}, False, "duo.permission-not-covered"),
    ({"permission": {"code": "HMB"}}, {"purpose": {"code": "HMB"}}, True, "duo.match"),
    ({"permission": {"code": "HMB"}}, {"purpose": ds("C50")}, True, "duo.match"),
    (
        {"permission": {"code": "HMB"}},
        {"purpose": {"code": "POA"}},
        False,
        "duo.permission-not-covered",
    ),
    (
        {"permission": {"code": "HMB"}},
        {"purpose": {"code": "GRU"}},
        False,
        "duo.permission-not-covered",
    ),
    ({"permission": ds("C50")}, {"purpose": ds("C50")}, True, "duo.match"),
    ({"permission": ds("C50")}, {"purpose": ds("C50.9")}, True, "duo.match"),
    ({"permission": ds("C50")}, {"purpose": ds("C51")}, False, "duo.disease-not-covered"),
    ({"permission": ds("C50")}, {"purpose": ds("C51.0")}, False, "duo.disease-not-covered"),
    ({"permission": ds("C50.9")}, {"purpose": ds("C50")}, False, "duo.disease-not-covered"),
    ({"permission": ds("C50")}, {"purpose": {"code": "HMB"}}, False, "duo.permission-not-covered"),
    ({"permission": {"code": "POA"}}, {"purpose": {"code": "POA"}}, True, "duo.match"),
    (
        {"permission": {"code": "POA"}},
        {"purpose": {"code": "GRU"}},
        False,
        "duo.permission-not-covered",
    ),
    ({"permission": {"code": "POA"}}, {"purpose": ds("C50")}, False, "duo.permission-not-covered"),
    ({"modifiers": ["NPOA"]}, {"purpose": {"code": "POA"}}, False, "duo.permission-not-covered"),
    ({"modifiers": ["NPOA"]}, {"purpose": {"code": "HMB"}}, True, "duo.match"),
    # Samples and register data are separate consents.
    (
        {"samples": {"collect": False}, "dataCategories": CLINICAL},
        {"dataCategories": ["samples"]},
        False,
        "duo.samples-not-consented",
    ),
    (
        {"samples": {"collect": False}, "dataCategories": CLINICAL},
        {"dataCategories": ["conditions"]},
        True,
        "duo.match",
    ),
    (
        {"registerLinking": {"allowed": False}, "dataCategories": CLINICAL},
        {"dataCategories": ["register-data"]},
        False,
        "duo.register-linking-not-consented",
    ),
    (
        {"dataCategories": ["conditions"]},
        {"dataCategories": ["conditions", "medications"]},
        False,
        "duo.category-not-consented",
    ),
    # Methods development.
    ({"modifiers": ["NMDS"]}, {"methodsDevelopment": True}, False, "duo.methods-forbidden"),
    ({"modifiers": ["NMDS"]}, {"methodsDevelopment": False}, True, "duo.match"),
    ({"modifiers": []}, {"methodsDevelopment": True}, True, "duo.match"),
    # Institution and project.
    (
        {"modifiers": ["IS"], "restrictions": {"institutions": [INSTITUTION]}},
        {"institution": INSTITUTION},
        True,
        "duo.match",
    ),
    (
        {"modifiers": ["IS"], "restrictions": {"institutions": [INSTITUTION]}},
        {"institution": "1.2.3"},
        False,
        "duo.institution-not-allowed",
    ),
    (
        {"modifiers": ["IS"], "restrictions": {"institutions": [INSTITUTION]}},
        {},
        False,
        "duo.institution-not-allowed",
    ),
    (
        {"modifiers": ["PS"], "restrictions": {"projects": ["FINRISK"]}},
        {"project": "FINRISK"},
        True,
        "duo.match",
    ),
    (
        {"modifiers": ["PS"], "restrictions": {"projects": ["FINRISK"]}},
        {"project": "OTHER"},
        False,
        "duo.project-not-allowed",
    ),
    (
        {"modifiers": ["PS"], "restrictions": {"projects": ["FINRISK"]}},
        {},
        False,
        "duo.project-not-allowed",
    ),
    # Time limit and moratorium.
    (
        {"modifiers": ["TS"], "restrictions": {"until": "2026-03-01T12:00:01Z"}},
        {},
        True,
        "duo.match",
    ),
    (
        {"modifiers": ["TS"], "restrictions": {"until": "2026-03-01T12:00:00Z"}},
        {},
        False,
        "duo.time-limit-passed",
    ),
    (
        {"modifiers": ["TS"], "restrictions": {"until": "2026-03-01T13:00:00+02:00"}},
        {},
        False,
        "duo.time-limit-passed",
    ),
    (
        {"modifiers": ["MOR"], "restrictions": {"moratoriumUntil": "2027-01-01T00:00:00Z"}},
        {},
        True,
        "duo.moratorium",
    ),
    (
        {"modifiers": ["MOR"], "restrictions": {"moratoriumUntil": "2025-01-01T00:00:00Z"}},
        {},
        True,
        "duo.match",
    ),
    # Which biobank, and codes Tahto does not know.
    ({}, {"biobank": "1.2.246.10.99999999.10.0"}, False, "duo.other-biobank"),
    ({}, {"biobank": None}, True, "duo.match"),
    ({"modifiers": ["XYZ"]}, {}, False, "duo.modifier-unknown:XYZ"),
    ({"permission": {"code": "XYZ"}}, {}, False, "duo.permission-not-covered"),
]
# Every requirement modifier: refused without the declaration, allowed with it.
for _code in REQUIREMENTS:
    TABLE.append(({"modifiers": [_code]}, {}, False, f"duo.modifier-unsatisfied:{_code}"))
    TABLE.append(({"modifiers": [_code]}, {"declarations": [_code]}, True, "duo.match"))


def _id(row):
    consent_changes, request_changes, ok, code = row
    outcome = "ok" if ok else "no"
    return f"{code}-{outcome}-{sorted(consent_changes.items())}-{sorted(request_changes.items())}"


@pytest.mark.parametrize(
    ("consent_changes", "request_changes", "ok", "code"), TABLE, ids=map(_id, TABLE)
)
def test_duo_matching_table(consent_changes, request_changes, ok, code):
    body = request(**request_changes)
    body = {k: v for k, v in body.items() if v is not None}
    result = duo_match(consent(**consent_changes), body, at=AT)
    assert (result.ok, result.code) == (ok, code), result.detail
    assert result.detail.endswith(".")


def test_table_rows_use_schema_valid_documents_where_the_schema_allows_them():
    # Rows with unknown codes are deliberately invalid; every other row is a real document.
    for consent_changes, request_changes, _, code in TABLE:
        if code.startswith("duo.modifier-unknown") or consent_changes.get("permission") == {
            "code": "XYZ"
        }:
            continue
        scope = consent(**consent_changes)
        body = {k: v for k, v in request(**request_changes).items() if v is not None}
        schemas.validate("consent-kinds/biobank.v1", scope)
        schemas.validate("requests/research-request.v1", body)


def test_detail_explains_the_refusal_to_the_citizen():
    result = duo_match(consent(modifiers=["NPU"]), request(), at=AT)
    assert result == DuoMatch(
        False,
        "duo.modifier-unsatisfied:NPU",
        "The consent allows use only by not-for-profit organisations (DUO NPU); "
        "the request does not declare it.",
    )


def test_moratorium_allows_access_but_says_when_results_may_be_published():
    scope = consent(modifiers=["MOR"], restrictions={"moratoriumUntil": "2027-01-01T00:00:00Z"})
    result = duo_match(scope, request(), at=AT)
    assert result.ok
    assert "may not be published before 2027-01-01 (DUO MOR)" in result.detail


def test_disease_specific_detail_names_both_diseases():
    result = duo_match(consent(permission=ds("C50")), request(purpose=ds("C51")), at=AT)
    assert "C50" in result.detail and "C51" in result.detail


def test_first_failing_rule_decides_permission_before_modifiers():
    scope = consent(permission={"code": "POA"}, modifiers=["NPU"])
    assert duo_match(scope, request(), at=AT).code == "duo.permission-not-covered"


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        duo_match(consent(), request(), at=dt.datetime(2026, 3, 1))


@pytest.mark.parametrize(
    ("consented", "requested", "covered"),
    [
        ("C50", "C50", True),
        ("C50", "C50.9", True),
        ("C50", "c50.9", True),
        ("C50", "C500", False),
        ("C50", "C51", False),
        ("C50.9", "C50.91", True),
        ("C50.9", "C50", False),
        ("C50.9", "C50.8", False),
    ],
)
def test_disease_covers_the_same_or_a_more_specific_icd10_code(consented, requested, covered):
    assert disease_covers(consented, requested) is covered


# --- properties ------------------------------------------------------------------------------

ALL_CATEGORIES = schemas.get("common/definitions.v1")["$defs"]["dataCategory"]["enum"]
PERMISSIONS = ["NRES", "GRU", "HMB", "DS", "POA"]
MODIFIERS = schemas.get("common/definitions.v1")["$defs"]["duoModifier"]["enum"]
icd10 = st.from_regex(r"\A[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?\Z")
oids = st.lists(st.integers(min_value=0, max_value=99999), min_size=1, max_size=6).map(
    lambda parts: "1." + ".".join(map(str, parts))
)


@st.composite
def research_requests(draw, categories=ALL_CATEGORIES):
    code = draw(st.sampled_from(PERMISSIONS))
    body = {
        "purpose": {"code": code, "disease": draw(icd10)} if code == "DS" else {"code": code},
        "declarations": draw(st.lists(st.sampled_from(MODIFIERS), unique=True)),
        "dataCategories": draw(st.lists(st.sampled_from(categories), min_size=1, unique=True)),
    }
    optional = {
        "biobank": st.just(BIOBANK),
        "methodsDevelopment": st.booleans(),
        "institution": oids,
        "project": st.text(min_size=1, max_size=20),
    }
    for field, strategy in optional.items():
        if draw(st.booleans()):
            body[field] = draw(strategy)
    return body


moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@given(body=research_requests(), at=moments)
def test_nres_permits_any_well_formed_request_for_consented_categories(body, at):
    schemas.validate("requests/research-request.v1", body)
    scope = consent(permission={"code": "NRES"}, dataCategories=ALL_CATEGORIES)
    result = duo_match(scope, body, at=at)
    assert result.ok, result.detail
    assert result.code == "duo.match"


@given(
    body=research_requests(),
    permission=st.sampled_from(PERMISSIONS),
    disease=icd10,
    extra=st.lists(st.sampled_from([*REQUIREMENTS, "NMDS", "NPOA"]), min_size=1, unique=True),
    at=moments,
)
def test_adding_a_modifier_never_turns_a_refusal_into_a_permit(
    body, permission, disease, extra, at
):
    chosen = {"code": "DS", "disease": disease} if permission == "DS" else {"code": permission}
    plain = consent(permission=chosen, dataCategories=ALL_CATEGORIES)
    stricter = consent(permission=chosen, dataCategories=ALL_CATEGORIES, modifiers=extra)
    schemas.validate("consent-kinds/biobank.v1", stricter)
    if duo_match(stricter, body, at=at).ok:
        assert duo_match(plain, body, at=at).ok


# --- the ontology's own definitions, row by row ----------------------------------------------
# Each row: (source, consent changes, request changes, expected ok, expected code). The source
# names the DUO term (id and definition, EBISPOT/DUO duo.csv) or the DUOS matching rule
# (DataBiosphere/consent-ontology, DataUseMatchCasesV4) the expectation follows from.
DUO_GRU = "DUO:0000042 GRU: use is allowed for general research use for any research purpose"
DUO_HMB = (
    "DUO:0000006 HMB: use is allowed for health/medical/biomedical purposes; does not "
    "include the study of population origins or ancestry"
)
DUO_DS = "DUO:0000007 DS: use is allowed provided it is related to the specified disease"
DUO_POA = "DUO:0000011 POA: use is limited to the study of population origins or ancestry"
DUO_NRES = "DUO:0000004 NRES: there is no restriction on use"
DUO_NPOA = "DUO:0000044 NPOA: use for population, origin or ancestry research is prohibited"
DUO_NPUNCU = (
    "DUO:0000018 NPUNCU: use is limited to not-for-profit organizations and not-for-profit "
    "use, non-commercial use"
)
DUO_NPU = "DUO:0000045 NPU: use is limited to not-for-profit organizations"
DUO_NCU = "DUO:0000046 NCU: use is limited to not-for-profit use"
DUO_NMDS = "DUO:0000015 NMDS: use does not allow methods development research"
DUO_MOR = "DUO:0000024 MOR: requestor agrees not to publish results until a specific date"
DUOS_HMB = "DUOS matchHMB: HMB purpose approved under GRU or HMB, denied under DS and POA"
DUOS_POA = "DUOS matchPOA: POA purpose approved under GRU or POA, denied under HMB and DS"
DUOS_DS = "DUOS matchDiseases: DS purpose approved under GRU, HMB, or a parent disease"
DUOS_NPU = "DUOS matchNonProfitUse: an NPU dataset denies a purpose that is not non-profit"
SAMPLES = "Tahto rule (consents/duo.py): samples are covered by samples.collect alone"

ONTOLOGY_TABLE = [
    (DUO_GRU, {}, {"purpose": {"code": "GRU"}}, True, "duo.match"),
    (DUOS_POA, {}, {"purpose": {"code": "POA"}}, True, "duo.match"),
    (DUOS_DS, {}, {"purpose": ds("C50")}, True, "duo.match"),
    (DUOS_HMB, {}, {"purpose": {"code": "HMB"}}, True, "duo.match"),
    (DUO_GRU, {}, {"purpose": {"code": "NRES"}}, False, "duo.permission-not-covered"),
    (DUO_NRES, {"permission": {"code": "NRES"}}, {"purpose": {"code": "NRES"}}, True, "duo.match"),
    (
        DUOS_HMB,
        {"permission": {"code": "HMB"}},
        {"purpose": {"code": "GRU"}},
        False,
        "duo.permission-not-covered",
    ),
    (
        DUO_HMB,
        {"permission": {"code": "HMB"}},
        {"purpose": {"code": "POA"}},
        False,
        "duo.permission-not-covered",
    ),
    (DUOS_DS, {"permission": {"code": "HMB"}}, {"purpose": ds("E11")}, True, "duo.match"),
    (
        DUOS_HMB,
        {"permission": ds("E11")},
        {"purpose": {"code": "HMB"}},
        False,
        "duo.permission-not-covered",
    ),
    (DUO_DS, {"permission": ds("E11")}, {"purpose": ds("E11.9")}, True, "duo.match"),
    (DUO_DS, {"permission": ds("E11")}, {"purpose": ds("E10")}, False, "duo.disease-not-covered"),
    (
        DUOS_POA,
        {"permission": ds("E11")},
        {"purpose": {"code": "POA"}},
        False,
        "duo.permission-not-covered",
    ),
    (
        DUO_POA,
        {"permission": {"code": "POA"}},
        {"purpose": {"code": "HMB"}},
        False,
        "duo.permission-not-covered",
    ),
    (DUO_POA, {"permission": {"code": "POA"}}, {"purpose": {"code": "POA"}}, True, "duo.match"),
    # NPOA with each permission that would otherwise allow ancestry research.
    (
        DUO_NPOA,
        {"modifiers": ["NPOA"]},
        {"purpose": {"code": "POA"}},
        False,
        "duo.permission-not-covered",
    ),
    (
        DUO_NPOA,
        {"modifiers": ["NPOA"]},
        {"purpose": {"code": "GRU"}},
        False,
        "duo.permission-not-covered",
    ),
    (DUO_NPOA, {"modifiers": ["NPOA"]}, {"purpose": {"code": "HMB"}}, True, "duo.match"),
    (DUO_NPOA, {"modifiers": ["NPOA"]}, {"purpose": ds("C50")}, True, "duo.match"),
    (
        DUO_NPOA,
        {"permission": {"code": "NRES"}, "modifiers": ["NPOA"]},
        {"purpose": {"code": "NRES"}},
        False,
        "duo.permission-not-covered",
    ),
    (
        DUO_NPOA,
        {"permission": {"code": "NRES"}, "modifiers": ["NPOA"]},
        {"purpose": {"code": "GRU"}},
        False,
        "duo.permission-not-covered",
    ),
    (
        DUO_NPOA,
        {"permission": {"code": "NRES"}, "modifiers": ["NPOA"]},
        {"purpose": {"code": "HMB"}},
        True,
        "duo.match",
    ),
    # NPU, NCU and their combination NPUNCU.
    (DUOS_NPU, {"modifiers": ["NPU"]}, {"declarations": []}, False, "duo.modifier-unsatisfied:NPU"),
    (DUO_NPU, {"modifiers": ["NPU"]}, {"declarations": ["NPUNCU"]}, True, "duo.match"),
    (
        DUO_NCU,
        {"modifiers": ["NCU"]},
        {"declarations": ["NPU"]},
        False,
        "duo.modifier-unsatisfied:NCU",
    ),
    (DUO_NCU, {"modifiers": ["NCU"]}, {"declarations": ["NPUNCU"]}, True, "duo.match"),
    (
        DUO_NPUNCU,
        {"modifiers": ["NPUNCU"]},
        {"declarations": ["NPU"]},
        False,
        "duo.modifier-unsatisfied:NPUNCU",
    ),
    (
        DUO_NPUNCU,
        {"modifiers": ["NPUNCU"]},
        {"declarations": ["NCU"]},
        False,
        "duo.modifier-unsatisfied:NPUNCU",
    ),
    (DUO_NPUNCU, {"modifiers": ["NPUNCU"]}, {"declarations": ["NPU", "NCU"]}, True, "duo.match"),
    (DUO_NPUNCU, {"modifiers": ["NPUNCU"]}, {"declarations": ["NPUNCU"]}, True, "duo.match"),
    # Methods development and the publication moratorium.
    (
        DUO_NMDS,
        {"modifiers": ["NMDS"]},
        {"methodsDevelopment": True},
        False,
        "duo.methods-forbidden",
    ),
    (
        DUO_NMDS,
        {"permission": {"code": "NRES"}, "modifiers": ["NMDS"]},
        {"methodsDevelopment": True},
        False,
        "duo.methods-forbidden",
    ),
    (
        DUO_MOR,
        {"modifiers": ["MOR"], "restrictions": {"moratoriumUntil": "2026-06-01T00:00:00Z"}},
        {},
        True,
        "duo.moratorium",
    ),
    # Samples and register data: the separate acts decide.
    (SAMPLES, {"dataCategories": CLINICAL}, {"dataCategories": ["samples"]}, True, "duo.match"),
    (
        SAMPLES,
        {"dataCategories": CLINICAL},
        {"dataCategories": ["register-data"]},
        True,
        "duo.match",
    ),
    (
        SAMPLES,
        {"samples": {"collect": False}, "dataCategories": CLINICAL},
        {"dataCategories": ["samples", "conditions"]},
        False,
        "duo.samples-not-consented",
    ),
]


@pytest.mark.parametrize(
    ("source", "consent_changes", "request_changes", "ok", "code"),
    ONTOLOGY_TABLE,
    ids=[f"{row[4]}-{i}" for i, row in enumerate(ONTOLOGY_TABLE)],
)
def test_duo_follows_the_ontology_definitions(source, consent_changes, request_changes, ok, code):
    scope = consent(**consent_changes)
    body = request(**request_changes)
    schemas.validate("consent-kinds/biobank.v1", scope)
    schemas.validate("requests/research-request.v1", body)
    result = duo_match(scope, body, at=AT)
    assert (result.ok, result.code) == (ok, code), f"{source}: {result.detail}"


def test_every_supported_modifier_is_in_the_ontology_table():
    named = {m for _, c, _, _, _ in ONTOLOGY_TABLE for m in c.get("modifiers", [])}
    named |= set(REQUIREMENTS)  # each requirement also has its two rows in TABLE above
    named |= {"IS", "PS", "TS", "MOR", "NMDS", "NPOA"}  # rows in TABLE above
    assert named >= set(MODIFIERS)


def test_covered_categories_follow_the_separate_acts():
    assert covered_categories(consent(dataCategories=CLINICAL)) == {
        *CLINICAL,
        "samples",
        "register-data",
    }
    no_acts = consent(
        samples={"collect": False},
        registerLinking={"allowed": False},
        dataCategories=["conditions"],
    )
    assert covered_categories(no_acts) == {"conditions"}
