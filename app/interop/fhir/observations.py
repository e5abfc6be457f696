"""Observations: lab results (category laboratory) and scores (category survey)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.observation import (
    Observation,
    ObservationComponent,
    ObservationReferenceRange,
)

from app.interop.fhir.common import (
    coding,
    concept,
    meta,
    narrative,
    patient_ref,
    ref,
    text_concept,
    ucum,
    utc,
)
from app.interop.fhir.records import LabRecord, ScoreRecord
from app.interop.fhir.terminology import (
    ANALYTE_DISPLAY,
    LOINC,
    LOINC_DISPLAY,
    OBSERVATION_CATEGORY,
    SCORE_CODES,
    SCORE_COMPONENTS,
    SCORE_SYSTEM,
    SCORES,
)

SCORE_UNIT = "{score}"  # UCUM: an annotation of unity
SCORE_ID_PREFIX = "score"
_RECORD_KIND_CODE = {"visit": "v", "screening": "s"}
_RECORD_KIND_BY_CODE = {v: k for k, v in _RECORD_KIND_CODE.items()}


def _category(code: str, display: str) -> list[CodeableConcept]:
    return [concept(OBSERVATION_CATEGORY, code, display)]


def lab_status(record: LabRecord) -> str:
    """final; corrected once changed (a correction always carries a reason); a voided
    result is entered-in-error."""
    if record.voided:
        return "entered-in-error"
    return "corrected" if record.meta.version > 1 else "final"


def lab_observation(record: LabRecord) -> Observation:
    """The canonical value and unit, which the LOINC code (of the canonical property) fits."""
    identifiers = None
    if record.identifier is not None:
        identifiers = [Identifier(system=record.identifier[0], value=record.identifier[1])]
    reference_range = None
    if record.reference_high_canonical is not None:
        high = ucum(record.reference_high_canonical, record.canonical_unit)
        reference_range = [ObservationReferenceRange(high=high)]
    status = lab_status(record)
    summary = (
        f"{ANALYTE_DISPLAY.get(record.analyte, record.loinc)}"
        f" {record.canonical_value.normalize():f} {record.canonical_unit}"
        f" ({status}), collected {utc(record.collected_at).isoformat().replace('+00:00', 'Z')}"
    )
    return Observation(
        id=str(record.id),
        meta=meta(record.meta),
        text=narrative(summary),
        identifier=identifiers,
        status=status,
        category=_category("laboratory", "Laboratory"),
        code=CodeableConcept(
            coding=[coding(LOINC, record.loinc, LOINC_DISPLAY.get(record.loinc))],
            text=ANALYTE_DISPLAY.get(record.analyte),
        ),
        subject=patient_ref(record.participant_id),
        encounter=ref("Encounter", record.visit_id) if record.visit_id else None,
        effectiveDateTime=utc(record.collected_at),
        issued=utc(record.created_at),
        valueQuantity=ucum(record.canonical_value, record.canonical_unit),
        referenceRange=reference_range,
    )


def score_observation_id(record_kind: str, record_id: uuid.UUID, key: str) -> str:
    """`score-v-child-pugh-<visit id>`: unique, stable, and within FHIR's 64 characters."""
    return f"{SCORE_ID_PREFIX}-{_RECORD_KIND_CODE[record_kind]}-{SCORE_CODES[key]}-{record_id}"


def parse_score_observation_id(resource_id: str) -> tuple[str, uuid.UUID, str] | None:
    """(record kind, record id, score key), or None when the id is not a score's."""
    prefix = f"{SCORE_ID_PREFIX}-"
    if not resource_id.startswith(prefix) or len(resource_id) < len(prefix) + 38:
        return None
    head, raw_id = resource_id[: -36 - 1], resource_id[-36:]
    parts = head[len(prefix) :].split("-", 1)
    if len(parts) != 2 or parts[0] not in _RECORD_KIND_BY_CODE:
        return None
    key = {code: k for k, code in SCORE_CODES.items()}.get(parts[1])
    try:
        record_id = uuid.UUID(raw_id)
    except ValueError:
        return None
    if key is None:
        return None
    return _RECORD_KIND_BY_CODE[parts[0]], record_id, key


def score_observation(record: ScoreRecord) -> Observation:
    value = Decimal(str(record.stored["score"]))
    components = None
    extra = SCORE_COMPONENTS.get(record.key)
    if extra is not None and record.stored.get(extra[0]) is not None:
        field, code, display = extra
        components = [
            ObservationComponent(
                code=concept(SCORE_SYSTEM, code, display),
                valueString=str(record.stored[field]),
            )
        ]
    where = "baseline" if record.record_kind == "screening" else "visit"
    return Observation(
        id=score_observation_id(record.record_kind, record.record_id, record.key),
        meta=meta(record.meta),
        text=narrative(f"{SCORES[record.key]} {value} ({where}, {record.day})"),
        status="entered-in-error" if record.voided else "final",
        category=_category("survey", "Survey"),
        code=concept(SCORE_SYSTEM, SCORE_CODES[record.key], SCORES[record.key]),
        subject=patient_ref(record.participant_id),
        encounter=ref("Encounter", record.record_id) if record.record_kind == "visit" else None,
        effectiveDateTime=record.day,
        valueQuantity=ucum(value, SCORE_UNIT, "score"),
        method=text_concept(f"algorithm {record.stored.get('version', 'unknown')}"),
        derivedFrom=[ref("Observation", i) for i in record.lab_result_ids] or None,
        component=components,
    )
