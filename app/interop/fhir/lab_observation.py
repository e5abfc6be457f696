"""One lab Observation of a transaction Bundle against the study's rules (SPEC §7, §10).

A known LOINC code of SPEC §7 (or one of its other-property codes), a UCUM unit of that code's
property convertible to the canonical unit, a final result, the laboratory category, a full
date-time, a subject, and a key for conditional create. Every problem is named by the FHIRPath
of the element at fault; nothing is guessed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.domain.errors import InvalidData
from app.domain.units import NotCommensurable, NotUcum, Quantity, UnitConverter, canonical_lab
from app.interop.fhir.bundles import Issue
from app.interop.fhir.terminology import INGEST_LOINC, LOINC, OBSERVATION_CATEGORY, UCUM

ACCEPTED_STATUSES = ("final", "amended", "corrected")
_IF_NONE_EXIST = re.compile(r"identifier=([^|&]+)\|([^&]+)")
_CONDITIONAL_PATIENT = re.compile(r"Patient\?identifier=([^|&]+)\|([^&]+)")


@dataclass(frozen=True, slots=True)
class SubjectKey:
    """`Patient/<id>`, or a Patient identifier (study id, or the site's MRN)."""

    participant_id: uuid.UUID | None = None
    system: str | None = None
    value: str | None = None

    def describe(self) -> str:
        return (
            f"Patient/{self.participant_id}"
            if self.participant_id
            else f"{self.system}|{self.value}"
        )


@dataclass(frozen=True, slots=True)
class LabEntry:
    index: int
    subject: SubjectKey
    analyte: str
    value: Decimal
    unit: str
    collected_at: datetime
    reference_high: Decimal | None
    identifier: tuple[str, str]  # (system, value): the conditional-create key

    def path(self, element: str = "") -> str:
        return f"Bundle.entry[{self.index}]" + (f".{element}" if element else "")


def lab_entry(
    index: int, entry: Mapping[str, Any], converter: UnitConverter
) -> tuple[LabEntry | None, list[Issue]]:
    base = f"Bundle.entry[{index}]"
    resource = entry["resource"]
    at = f"{base}.resource"
    issues: list[Issue] = []
    if resource.get("status") not in ACCEPTED_STATUSES:
        issues.append(
            Issue(
                "code-invalid",
                f"status {resource.get('status')!r}: only {', '.join(ACCEPTED_STATUSES)} results"
                " are recorded",
                f"{at}.status",
            )
        )
    if not _has_laboratory_category(resource):
        issues.append(Issue("code-invalid", "category laboratory is required", f"{at}.category"))
    loinc = _loinc(resource, at, issues)
    quantity = _quantity(resource, at, issues)
    collected_at = _effective(resource, at, issues)
    subject = _subject(resource, at, issues)
    identifier = _identifier(entry, resource, base, issues)
    reference_high = _reference_high(resource, at, quantity, issues)
    if loinc is not None and quantity is not None:
        _check_unit(loinc, quantity, at, converter, issues)
    if (
        issues
        or loinc is None
        or quantity is None
        or collected_at is None
        or subject is None
        or identifier is None
    ):
        return None, issues
    return (
        LabEntry(
            index=index,
            subject=subject,
            analyte=INGEST_LOINC[loinc].analyte,
            value=quantity.value,
            unit=quantity.unit,
            collected_at=collected_at,
            reference_high=reference_high,
            identifier=identifier,
        ),
        [],
    )


def _has_laboratory_category(resource: Mapping[str, Any]) -> bool:
    return any(
        c.get("system") == OBSERVATION_CATEGORY and c.get("code") == "laboratory"
        for concept in resource.get("category") or ()
        for c in concept.get("coding") or ()
    )


def _loinc(resource: Mapping[str, Any], at: str, issues: list[Issue]) -> str | None:
    codings = [
        (j, c)
        for j, c in enumerate(resource.get("code", {}).get("coding") or ())
        if c.get("system") == LOINC
    ]
    if not codings:
        issues.append(
            Issue("required", "a LOINC coding (system http://loinc.org) is required", f"{at}.code")
        )
        return None
    unknown = [(j, c) for j, c in codings if c.get("code") not in INGEST_LOINC]
    for j, c in unknown:
        issues.append(
            Issue(
                "code-invalid",
                f"LOINC {c.get('code')!r} is not an analyte of this trial (SPEC §7);"
                " accepted: " + ", ".join(sorted(INGEST_LOINC)),
                f"{at}.code.coding[{j}].code",
            )
        )
    known = {str(c["code"]) for _, c in codings if c.get("code") in INGEST_LOINC}
    if unknown:
        return None
    if len(known) > 1:
        issues.append(Issue("code-invalid", "more than one LOINC code: ambiguous", f"{at}.code"))
        return None
    return known.pop()


def _quantity(resource: Mapping[str, Any], at: str, issues: list[Issue]) -> Quantity | None:
    q = resource.get("valueQuantity")
    if not isinstance(q, Mapping):
        other = [k for k in resource if k.startswith("value")]
        where = f"{at}.{other[0]}" if other else f"{at}.valueQuantity"
        issues.append(
            Issue("required", "a valueQuantity is required (a lab value with its unit)", where)
        )
        return None
    at = f"{at}.valueQuantity"
    ok = True
    if q.get("comparator") is not None:
        issues.append(
            Issue(
                "not-supported",
                "a value with a comparator (<, >) cannot be recorded",
                f"{at}.comparator",
            )
        )
        ok = False
    if q.get("system") != UCUM:
        issues.append(Issue("code-invalid", f"the unit system must be {UCUM}", f"{at}.system"))
        ok = False
    if not q.get("code"):
        issues.append(Issue("required", "the UCUM unit code is required", f"{at}.code"))
        ok = False
    try:
        value = Decimal(str(q.get("value")))
    except (InvalidOperation, ValueError):
        issues.append(Issue("required", "a numeric value is required", f"{at}.value"))
        return None
    if not value.is_finite():
        issues.append(Issue("value", "must be a finite number", f"{at}.value"))
        return None
    return Quantity(value, str(q["code"])) if ok else None


def _check_unit(
    loinc: str, quantity: Quantity, at: str, converter: UnitConverter, issues: list[Issue]
) -> None:
    """The unit must fit the code's property (UCUM only), then convert to the canonical unit."""
    code = INGEST_LOINC[loinc]
    where = f"{at}.valueQuantity"
    try:
        converter.factor(quantity.unit, code.property_unit)
    except NotUcum:
        issues.append(
            Issue("code-invalid", f"{quantity.unit!r} is not a UCUM unit", f"{where}.code")
        )
        return
    except NotCommensurable:
        issues.append(
            Issue(
                "code-invalid",
                f"{quantity.unit!r} is not a unit of LOINC {loinc}'s property (e.g."
                f" {code.property_unit}); send the LOINC code of the property measured",
                f"{where}.code",
            )
        )
        return
    try:
        canonical_lab(code.analyte, quantity, converter, field=where)
    except InvalidData as exc:
        for e in exc.errors:
            field = (
                e.field.removesuffix(".unit") + ".code" if e.field.endswith(".unit") else e.field
            )
            issues.append(Issue("value", e.message, field))


def _effective(resource: Mapping[str, Any], at: str, issues: list[Issue]) -> datetime | None:
    raw = resource.get("effectiveDateTime", resource.get("effectiveInstant"))
    name = "effectiveDateTime" if "effectiveDateTime" in resource else "effectiveInstant"
    if not isinstance(raw, str):
        issues.append(
            Issue(
                "required",
                "effectiveDateTime (the collection time) is required",
                f"{at}.effectiveDateTime",
            )
        )
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or "T" not in raw or moment.tzinfo is None:
        issues.append(
            Issue(
                "value", "the collection time needs a date, a time and a time zone", f"{at}.{name}"
            )
        )
        return None
    return moment


def _subject(resource: Mapping[str, Any], at: str, issues: list[Issue]) -> SubjectKey | None:
    subject = resource.get("subject")
    where = f"{at}.subject"
    if not isinstance(subject, Mapping):
        issues.append(Issue("required", "subject (the participant's Patient) is required", where))
        return None
    reference = subject.get("reference")
    if isinstance(reference, str):
        conditional = _CONDITIONAL_PATIENT.fullmatch(reference)
        if conditional:
            return SubjectKey(system=conditional[1], value=conditional[2])
        kind, _, raw_id = reference.rstrip("/").rpartition("/")
        if kind.rsplit("/", 1)[-1] == "Patient":
            try:
                return SubjectKey(participant_id=uuid.UUID(raw_id))
            except ValueError:
                pass
        issues.append(
            Issue(
                "value",
                "subject.reference must be Patient/<id> or Patient?identifier=<system>|<value>",
                f"{where}.reference",
            )
        )
        return None
    ident = subject.get("identifier")
    if isinstance(ident, Mapping) and ident.get("system") and ident.get("value"):
        return SubjectKey(system=str(ident["system"]), value=str(ident["value"]))
    issues.append(
        Issue("required", "subject needs a reference or an identifier with system and value", where)
    )
    return None


def _identifier(
    entry: Mapping[str, Any], resource: Mapping[str, Any], base: str, issues: list[Issue]
) -> tuple[str, str] | None:
    criteria = entry["request"].get("ifNoneExist")
    if criteria is not None:
        match = _IF_NONE_EXIST.fullmatch(str(criteria))
        if match is None:
            issues.append(
                Issue(
                    "not-supported",
                    "ifNoneExist must be identifier=<system>|<value>",
                    f"{base}.request.ifNoneExist",
                )
            )
            return None
        return match[1], match[2]
    for ident in resource.get("identifier") or ():
        if ident.get("system") and ident.get("value"):
            return str(ident["system"]), str(ident["value"])
    issues.append(
        Issue(
            "required",
            "a key for conditional create is required: request.ifNoneExist"
            " (identifier=<system>|<value>) or an Observation.identifier with system and value",
            f"{base}.request.ifNoneExist",
        )
    )
    return None


def _reference_high(
    resource: Mapping[str, Any], at: str, quantity: Quantity | None, issues: list[Issue]
) -> Decimal | None:
    """The upper limit of normal of the first reference range with one, in the value's unit."""
    for k, rng in enumerate(resource.get("referenceRange") or ()):
        high = rng.get("high")
        if not isinstance(high, Mapping) or high.get("value") is None:
            continue
        if quantity is not None and high.get("code") != quantity.unit:
            issues.append(
                Issue(
                    "value",
                    "the reference range must be in the value's unit",
                    f"{at}.referenceRange[{k}].high.code",
                )
            )
            return None
        return Decimal(str(high["value"]))
    return None
