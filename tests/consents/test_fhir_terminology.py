"""Required FHIR R4 bindings and claimed Kanta PHR profiles, on what Tahto accepts and emits.

The expectations come from the generated table (schemas/vocab/fhir-r4-required-bindings.v1.json,
made from HL7's hl7.fhir.r4.core 4.0.1 by tools/fhir_required_bindings.py): every element of a
resource type Tahto handles that is bound with strength "required" is tested here with a code
outside its value set, and must be refused with the element named and the allowed codes listed.
"""

import importlib.util
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from consents.fhir import FhirExportError, _validated
from consents.fhir_terminology import (
    PHR_PROFILE_BASE,
    FhirConformanceError,
    _walk,
    bindings,
    fhir_check,
    fhir_issues,
)

TABLE = bindings()
BOGUS = "not-a-code"


def _required_elements() -> list[tuple[str, str, dict[str, Any]]]:
    """(resource type, element path, entry) for every enumerable required binding in a resource
    (its own elements and backbone elements; datatypes are covered by the tests below)."""
    out = []
    for rtype in TABLE["resourceTypes"]:
        for path, entry in TABLE["types"][rtype]["elements"].items():
            vs = TABLE["valueSets"].get(entry.get("valueSet", ""), {})
            if entry.get("valueSet") and vs.get("codes") and not path.endswith("[x]"):
                out.append((rtype, path, entry))
    return out


def _value(entry: dict[str, Any]) -> Any:
    kind = entry["types"][0]
    if kind == "CodeableConcept":
        return {"coding": [{"system": "urn:example:wrong", "code": BOGUS}]}
    if kind == "Coding":
        return {"system": "urn:example:wrong", "code": BOGUS}
    return BOGUS


def _nested(rtype: str, path: str, value: Any) -> tuple[dict[str, Any], str]:
    """A resource with `value` at element `path`, and the FHIRPath-like path expected."""
    elements = TABLE["types"][rtype]["elements"]
    parts = path.split(".")
    resource: dict[str, Any] = {"resourceType": rtype}
    node, shown = resource, rtype
    for depth in range(1, len(parts)):
        name = ".".join(parts[: depth + 1])
        key = parts[depth]
        entry = elements.get(name, {})
        leaf = depth == len(parts) - 1
        inner: Any = value if leaf else {}
        if entry.get("array"):
            node[key] = [inner]
            shown += f".{key}[0]"
        else:
            node[key] = inner
            shown += f".{key}"
        if not leaf:
            node = inner
    return resource, shown


REQUIRED = _required_elements()


def test_the_table_comes_from_the_published_r4_package() -> None:
    assert TABLE["source"]["package"] == "hl7.fhir.r4.core"
    assert TABLE["source"]["version"] == "4.0.1"
    named = {path for _, path, _ in REQUIRED}
    assert {"Observation.status", "Consent.status", "Consent.provision.type"} <= named


@pytest.mark.parametrize(("rtype", "path", "entry"), REQUIRED, ids=[p for _, p, _ in REQUIRED])
def test_each_required_binding_refuses_a_code_outside_its_value_set(
    rtype: str, path: str, entry: dict[str, Any]
) -> None:
    resource, shown = _nested(rtype, path, _value(entry))
    issues = [i for i in fhir_issues(resource) if i.path == shown]
    assert len(issues) == 1, fhir_issues(resource)
    allowed = sorted(
        {c for cs in TABLE["valueSets"][entry["valueSet"]]["codes"].values() for c in cs}
    )
    assert issues[0].value_set == entry["valueSet"]
    assert list(issues[0].allowed) == allowed
    assert issues[0].message.startswith(f"{shown}: ")
    assert allowed[0] in issues[0].message


@pytest.mark.parametrize(("rtype", "path", "entry"), REQUIRED, ids=[p for _, p, _ in REQUIRED])
def test_each_required_binding_accepts_a_code_of_its_value_set(
    rtype: str, path: str, entry: dict[str, Any]
) -> None:
    system, codes = next(iter(TABLE["valueSets"][entry["valueSet"]]["codes"].items()))
    kind = entry["types"][0]
    value: Any = codes[0]
    if kind == "Coding":
        value = {"system": system, "code": codes[0]}
    elif kind == "CodeableConcept":
        value = {"coding": [{"system": system, "code": codes[0]}]}
    resource, shown = _nested(rtype, path, value)
    assert [i for i in fhir_issues(resource) if i.path == shown] == []


def test_observation_status_done_is_refused_naming_the_element_and_the_codes() -> None:
    with pytest.raises(FhirConformanceError) as caught:
        fhir_check({"resourceType": "Observation", "status": "done", "code": {"text": "x"}})
    (issue,) = caught.value.issues
    assert issue.path == "Observation.status" and issue.pointer == "/status"
    assert issue.value_set == "http://hl7.org/fhir/ValueSet/observation-status"
    assert "final" in issue.allowed and "done" not in issue.allowed
    assert "'done' is not in the required value set" in issue.message


def test_bindings_of_datatypes_are_checked_inside_resources() -> None:
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "component": [{"code": {"text": "y"}, "valueQuantity": {"value": 1, "comparator": "~"}}],
        "contained": [{"resourceType": "Patient", "gender": "f"}],
    }
    paths = {i.path for i in fhir_issues(resource)}
    assert paths == {
        "Observation.component[0].valueQuantity.comparator",
        "Observation.contained[0].ofType(Patient).gender",
    }


def test_nested_consent_provisions_are_checked_through_their_content_reference() -> None:
    resource = {
        "resourceType": "Consent",
        "status": "active",
        "provision": {"type": "permit", "provision": [{"type": "maybe"}]},
    }
    assert [i.path for i in fhir_issues(resource)] == ["Consent.provision.provision[0].type"]


def test_an_exported_consent_that_breaks_a_binding_is_refused() -> None:
    with pytest.raises(FhirExportError, match=r"Consent\.status"):
        _validated(
            {
                "resourceType": "Consent",
                "status": "withdrawn",  # Tahto's word, not FHIR's (inactive)
                "scope": {"coding": [{"system": "http://x", "code": "y"}]},
                "category": [{"text": "x"}],
            }
        )


def _phr(profile: str, category: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "meta": {
            "profile": [profile],
            "tag": [{"system": "https://schemas.tahto.fi/data-category", "code": category}],
        },
    }


def test_a_claimed_phr_profile_must_match_the_data_category() -> None:
    assert fhir_issues(_phr(PHR_PROFILE_BASE + "steps", "steps")) == []
    (issue,) = fhir_issues(_phr(PHR_PROFILE_BASE + "steps", "blood-pressure"))
    assert issue.path == "Observation.meta.profile[0]"
    assert issue.allowed == (PHR_PROFILE_BASE + "blood-pressure",)


def test_an_unknown_phr_profile_is_refused_with_the_known_ones_listed() -> None:
    (issue,) = fhir_issues(_phr("http://phr.kanta.fi/StructureDefinition/fiphr-x", "steps"))
    assert PHR_PROFILE_BASE + "steps" in issue.allowed
    assert issue.pointer == "/meta/profile/0"


def test_a_phr_profile_on_a_type_kanta_phr_does_not_store_is_refused() -> None:
    resource = {**_phr(PHR_PROFILE_BASE + "steps", "steps"), "resourceType": "Condition"}
    resource.pop("status")
    (issue,) = [i for i in fhir_issues(resource) if "profile" in i.path]
    assert "applies only to" in issue.message


def _datatype_elements() -> list[tuple[str, str, dict[str, Any]]]:
    resources = set(TABLE["resourceTypes"])
    out = []
    for dtype, table in TABLE["types"].items():
        if dtype in resources:
            continue
        for path, entry in table["elements"].items():
            vs = TABLE["valueSets"].get(entry.get("valueSet", ""), {})
            if vs.get("codes") and path.count(".") == 1 and not path.endswith("[x]"):
                out.append((dtype, path, entry))
    return out


DATATYPES = _datatype_elements()


@pytest.mark.parametrize(("dtype", "path", "entry"), DATATYPES, ids=[p for _, p, _ in DATATYPES])
def test_each_required_binding_of_a_datatype_refuses_a_code_outside_its_value_set(
    dtype: str, path: str, entry: dict[str, Any]
) -> None:
    key = path.split(".")[1]
    value = [_value(entry)] if entry.get("array") else _value(entry)
    found = list(_walk({key: value}, dtype, dtype, dtype, ""))
    assert [i.value_set for i in found] == [entry["valueSet"]]
    assert found[0].path.startswith(path)


def _tool() -> Any:
    path = Path(__file__).resolve().parents[2] / "tools" / "fhir_required_bindings.py"
    spec = importlib.util.spec_from_file_location("fhir_required_bindings", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _package(tmp_path: Path, docs: dict[str, dict[str, Any]]) -> Path:
    tgz = tmp_path / "package.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        for name, doc in docs.items():
            data = json.dumps(doc).encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return tgz


def test_the_generator_expands_required_bindings_from_a_package(tmp_path: Path) -> None:
    element = {"path": "Observation.status", "type": [{"code": "code"}], "max": "1"}
    tgz = _package(
        tmp_path,
        {
            "package.json": {"name": "hl7.fhir.r4.core", "version": "4.0.1", "license": "CC0-1.0"},
            "StructureDefinition-Observation.json": {
                "resourceType": "StructureDefinition",
                "url": "http://hl7.org/fhir/StructureDefinition/Observation",
                "type": "Observation",
                "kind": "resource",
                "derivation": "specialization",
                "snapshot": {
                    "element": [
                        {"path": "Observation"},
                        {
                            **element,
                            "binding": {
                                "strength": "required",
                                "valueSet": "http://hl7.org/fhir/ValueSet/s|4.0.1",
                            },
                        },
                        {
                            "path": "Observation.language",
                            "type": [{"code": "code"}],
                            "binding": {"strength": "preferred", "valueSet": "urn:other"},
                        },
                    ]
                },
            },
            "ValueSet-s.json": {
                "resourceType": "ValueSet",
                "url": "http://hl7.org/fhir/ValueSet/s",
                "name": "S",
                "compose": {"include": [{"system": "http://hl7.org/fhir/s"}]},
            },
            "CodeSystem-s.json": {
                "resourceType": "CodeSystem",
                "url": "http://hl7.org/fhir/s",
                "content": "complete",
                "concept": [{"code": "a", "concept": [{"code": "a1"}]}, {"code": "b"}],
            },
        },
    )
    table = _tool().generate(tgz)
    assert table["source"]["package"] == "hl7.fhir.r4.core"
    assert table["types"]["Observation"]["elements"] == {
        "Observation.status": {
            "types": ["code"],
            "valueSet": "http://hl7.org/fhir/ValueSet/s",
        }
    }
    assert table["valueSets"]["http://hl7.org/fhir/ValueSet/s"]["codes"] == {
        "http://hl7.org/fhir/s": ["a", "a1", "b"]
    }
