"""Named types the contract publishes for values the domain itself validates.

A code such as `relatedness` is checked by the domain, which reports every broken rule of an
adverse event in one 422; `labs` keys are checked by the unit conversion, naming the field.
Validating them again in the schema would change what is refused and how. So the request
models keep their plain types, and these annotations only give the OpenAPI document the
truth: an enum of the codes, an object whose keys are the analytes of SPEC §7. The document
(app/contract) adds each named schema from `PUBLISHED`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import StringConstraints, WithJsonSchema

from app.domain.adverse_events import (
    ActionTaken,
    AeOutcome,
    Expectedness,
    Relatedness,
    Seriousness,
)
from app.domain.analytes import ANALYTES, Category
from app.schemas.common import QuantityIn

PUBLISHED: dict[str, dict[str, Any]] = {}
MARKER = "x-published"  # app/contract/document.py turns it into a $ref


def _publish(name: str, schema: dict[str, Any]) -> WithJsonSchema:
    PUBLISHED[name] = schema
    # not a "$ref" yet: pydantic would look the name up among its own definitions
    return WithJsonSchema({MARKER: name})


def enum_of(enum: type[StrEnum], name: str | None = None) -> WithJsonSchema:
    doc = (enum.__doc__ or "").strip()
    schema = {"type": "string", "enum": [e.value for e in enum], "description": doc}
    return _publish(name or enum.__name__, schema)


Code = Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]
SeriousnessCode = Annotated[Code, enum_of(Seriousness, "SeriousnessCriterion")]
RelatednessCode = Annotated[Code, enum_of(Relatedness)]
ExpectednessCode = Annotated[Code, enum_of(Expectedness)]
AeOutcomeCode = Annotated[Code, enum_of(AeOutcome)]
ActionTakenCode = Annotated[Code, enum_of(ActionTaken)]
CategoryCode = Annotated[str, enum_of(Category, "LabCategory")]


def _by_analyte(ref: str, description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {
            key: {"$ref": f"#/components/schemas/{ref}", "description": a.display_name}
            for key, a in ANALYTES.items()
        },
        "additionalProperties": False,
    }


LABS_IN = _publish(
    "Labs",
    _by_analyte(
        "QuantityIn",
        "Lab values keyed by analyte (SPEC §7), each {value, unit}; the unit is any UCUM unit"
        " commensurable with the analyte's canonical one. An unknown key is a 422.",
    ),
)
LAB_VALUE = _publish(
    "LabValue",
    {
        "type": "object",
        "description": "A lab value as entered and in the analyte's canonical unit.",
        "properties": {
            "value": {"type": "number"},
            "unit": {"type": ["string", "null"]},
            "canonical_value": {"type": "number"},
            "canonical_unit": {"type": "string"},
            "derived_from": {"type": "string", "description": "e.g. urea from urea_nitrogen"},
        },
        "required": ["value", "unit", "canonical_value", "canonical_unit"],
    },
)
LABS_OUT = _publish(
    "LabValues",
    _by_analyte("LabValue", "The lab values used, keyed by analyte (SPEC §7)."),
)


def _score(description: str, **extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {
            "score": {"type": "number"},
            "version": {"type": "string", "description": "the scoring code's version"},
            **extra,
        },
        "required": ["score", "version"],
    }


def _scores(description: str, **extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {
            "cossh_aclf_ii": _score(
                "COSSH-ACLF II",
                value={"type": "number", "description": "the unrounded score"},
                risk={"type": "string", "enum": ["low", "moderate", "high"]},
                **extra,
            ),
            "child_pugh": _score(
                "Child-Pugh (5-15)",
                **{"class": {"type": "string", "enum": ["A", "B", "C"]}},
                **extra,
            ),
            "symptom_score": _score("Clinical symptom score (0-15)", **extra),
        },
        "additionalProperties": False,
    }


SCORES_OUT = _publish(
    "Scores", _scores("The scores whose inputs were present, keyed by score (SPEC §6).")
)
SCORE_CHANGES_OUT = _publish(
    "ScoreChanges",
    _scores(
        "The assessment's scores keyed by score, each with its change from baseline.",
        change_from_baseline={
            "type": ["number", "null"],
            "description": "this score minus the baseline's; null when the baseline lacks it",
        },
    ),
)

LabsIn = Annotated[dict[str, QuantityIn], LABS_IN]
LabValuesOut = Annotated[dict[str, Any], LABS_OUT]
ScoresOut = Annotated[dict[str, Any], SCORES_OUT]
ScoreChangesOut = Annotated[dict[str, dict[str, Any]], SCORE_CHANGES_OUT]
