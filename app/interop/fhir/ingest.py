"""A transaction Bundle of lab Observations -> lab entries, or every problem named by its path.

Checked in this order, each step reporting all it finds (a step runs only on what the one
before accepted): (1) the shape (a `transaction` Bundle of `POST Observation` entries);
(2) the model library (`fhir.resources` R4B: structure, datatypes, cardinalities);
(3) the R4 invariants and required bindings (fhirpathpy); (4) the study's rules for each
Observation (app/interop/fhir/lab_observation.py); then no two entries may share a key, or a
subject, analyte and time. Nothing is guessed: an unknown code or unit is refused with the path
of the element at fault.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from app.domain.units import UnitConverter
from app.interop.fhir.bundles import FhirError, Issue
from app.interop.fhir.invariants import validator
from app.interop.fhir.lab_observation import LabEntry, SubjectKey, lab_entry

__all__ = ["LabEntry", "SubjectKey", "lab_entries"]


def lab_entries(body: Any, converter: UnitConverter, max_entries: int) -> list[LabEntry]:
    """The entries of a valid lab transaction; FhirError (400 shape, 422 content) otherwise."""
    _shape(body, max_entries)
    _model(body)
    issues = [_invariant_issue(v) for v in validator().errors(body, "Bundle")]
    entries: list[LabEntry] = []
    for index, entry in enumerate(body["entry"]):
        found, problems = lab_entry(index, entry, converter)
        issues += problems
        if found is not None:
            entries.append(found)
    issues += _duplicates(entries)
    if issues:
        raise FhirError(422, issues)
    return entries


# --- (1) shape and (2) model ------------------------------------------------------------------


def _shape(body: Any, max_entries: int) -> None:
    if not isinstance(body, Mapping) or body.get("resourceType") != "Bundle":
        raise FhirError.one(400, "structure", "the body must be a FHIR Bundle", "Bundle")
    if body.get("type") != "transaction":
        raise FhirError.one(
            400, "not-supported", "only Bundle.type 'transaction' is accepted", "Bundle.type"
        )
    entries = body.get("entry")
    if not isinstance(entries, list) or not entries:
        raise FhirError.one(422, "required", "the Bundle has no entries", "Bundle.entry")
    if len(entries) > max_entries:
        raise FhirError.one(
            413, "too-costly", f"at most {max_entries} entries per Bundle", "Bundle.entry"
        )
    issues = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
        if kind != "Observation":
            issues.append(
                Issue(
                    "not-supported",
                    f"only Observation entries are accepted (got {kind!r})",
                    f"Bundle.entry[{i}].resource",
                )
            )
            continue
        request = entry.get("request")
        if (
            not isinstance(request, Mapping)
            or request.get("method") != "POST"
            or str(request.get("url", "")).strip("/") != "Observation"
        ):
            issues.append(
                Issue(
                    "not-supported",
                    "each entry must be a create: request {method: POST, url: Observation}",
                    f"Bundle.entry[{i}].request",
                )
            )
    if issues:
        raise FhirError(422, issues)


_MODEL_CODES = {"model_field_validation.missing": "required", "missing": "required"}


def _model(body: Mapping[str, Any]) -> None:
    try:
        Bundle.model_validate(body)
    except ValidationError as exc:
        issues = [
            Issue(
                "structure"
                if err["type"] == "extra_forbidden"
                else _MODEL_CODES.get(err["type"], "value"),
                err["msg"],
                _expression(err["loc"]),
            )
            for err in exc.errors()
        ]
        raise FhirError(422, issues) from None


def _expression(loc: Sequence[Any]) -> str:
    out = "Bundle"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _invariant_issue(v: Any) -> Issue:
    code = "code-invalid" if v.key == "binding" else "invariant"
    return Issue(code, v.message, v.location)


def _duplicates(entries: Sequence[LabEntry]) -> list[Issue]:
    """Two entries of one Bundle with the same key, or the same analyte and time."""
    issues: list[Issue] = []
    keys: dict[object, int] = {}
    for e in entries:
        for key, what in (
            (("id",) + e.identifier, "identifier"),
            (("lab", e.subject, e.analyte, e.collected_at), "analyte and collection time"),
        ):
            if key in keys:
                issues.append(
                    Issue(
                        "duplicate",
                        f"same {what} as Bundle.entry[{keys[key]}]",
                        e.path("resource"),
                    )
                )
            keys.setdefault(key, e.index)
    return issues
