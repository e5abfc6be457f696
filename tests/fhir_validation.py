"""Validate a FHIR resource the service produced, four ways (SPEC §10, issue 12):

1. the model library: `fhir.resources` R4B (pydantic) parses it;
2. `fhirclient` 4.4's exact R4 4.0.1 models parse it (a second, independent structure check);
3. the R4 invariants and required bindings, with fhirpathpy (errors *and* warnings);
4. every coding and UCUM quantity against the value set or code system it claims: the R4 code
   systems of the extract, the LOINC table of SPEC §7, UCUM (ucumvert), our own CodeSystems,
   and the one SNOMED CT code used. A code of a system nobody checks is itself a problem.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any

from fhirclient.models.fhirabstractbase import FHIRValidationError

from app.domain.analytes import BY_LOINC
from app.interop import ucum
from app.interop.fhir import terminology as t
from app.interop.fhir.invariants import definitions, validator

MEDDRA_CODE = re.compile(r"\d{8}")


def problems(resource: dict[str, Any]) -> list[str]:
    found = _model(resource) + _fhirclient(resource)
    found += [
        f"{v.key}@{v.location} ({v.severity}): {v.message} {v.evaluation_error or ''}".strip()
        for v in validator().validate(resource)
    ]
    found += [f"{path}: {message}" for path, message in _codes(resource, resource["resourceType"])]
    return found


def _model(resource: dict[str, Any]) -> list[str]:
    kind = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    try:
        getattr(module, kind).model_validate(resource)
    except Exception as exc:  # pydantic ValidationError, KeyError for unknown types
        return [f"fhir.resources: {exc}"]
    return []


def _fhirclient(resource: dict[str, Any]) -> list[str]:
    kind = resource["resourceType"]
    module = importlib.import_module(f"fhirclient.models.{kind.lower()}")
    try:
        getattr(module, kind)(resource, strict=True)
    except FHIRValidationError as exc:
        return [f"fhirclient: {exc}"]
    return []


def _walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, f"{path}[{i}]")


def _codes(resource: dict[str, Any], root: str) -> Iterator[tuple[str, str]]:
    code_systems = {url: set(codes) for url, codes in definitions()["codeSystems"].items()}
    for path, node in _walk(resource, root):
        system, code = node.get("system"), node.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            continue
        problem = _check(system, code, code_systems)
        if problem:
            yield path, problem


def _check(system: str, code: str, code_systems: dict[str, set[str]]) -> str | None:
    if system in code_systems:
        return None if code in code_systems[system] else f"{code!r} is not in {system}"
    if system == t.LOINC:
        return None if code in BY_LOINC else f"LOINC {code} is not in the SPEC §7 table"
    if system == t.UCUM:
        return None if ucum._parse(code) is not None else f"{code!r} is not UCUM"
    if system in t.OWN_CODES:
        return None if code in t.OWN_CODES[system] else f"{code!r} is not in {system}"
    if system == t.SNOMED:
        return None if code in t.SNOMED_CODES_USED else f"SNOMED {code} was not checked"
    if system == t.MEDDRA:
        return None if MEDDRA_CODE.fullmatch(code) else f"{code!r} is no MedDRA code"
    return f"nobody checks codes of {system}"
