"""Small builders shared by the resource mappers."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.meta import Meta as FhirMeta
from fhir.resources.R4B.narrative import Narrative
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from app.interop.fhir.records import Meta
from app.interop.fhir.terminology import UCUM


def meta(m: Meta) -> FhirMeta:
    """versionId is the record's version (also the ETag); lastUpdated its last change."""
    return FhirMeta(versionId=str(m.version), lastUpdated=utc(m.last_updated))


def narrative(summary: str) -> Narrative:
    """A one-line human summary (dom-6: a resource should have a narrative)."""
    div = f'<div xmlns="http://www.w3.org/1999/xhtml">{html.escape(summary)}</div>'
    return Narrative(status="generated", div=div)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def patient_ref(participant_id: uuid.UUID) -> Reference:
    return Reference(reference=f"Patient/{participant_id}")


def ref(resource_type: str, resource_id: uuid.UUID | str) -> Reference:
    return Reference(reference=f"{resource_type}/{resource_id}")


def coding(system: str, code: str, display: str | None = None) -> Coding:
    return Coding(system=system, code=code, display=display)


def concept(
    system: str, code: str, display: str | None = None, text: str | None = None
) -> CodeableConcept:
    return CodeableConcept(coding=[coding(system, code, display)], text=text)


def text_concept(text: str) -> CodeableConcept:
    return CodeableConcept(text=text)


def ucum(value: Decimal | int, code: str, unit: str | None = None) -> Quantity:
    return Quantity(value=Decimal(value), unit=unit or code, system=UCUM, code=code)


def to_json(resource: Resource) -> bytes:
    """FHIR JSON: element names as in the specification, no nulls."""
    return resource.model_dump_json(by_alias=True, exclude_none=True).encode()
