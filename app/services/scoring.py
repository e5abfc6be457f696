"""Bridges HTTP quantities and stored JSON to the domain's unit and score functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.scores import ChildPughResult, CosshResult, ScoreResult, SymptomResult
from app.domain.units import CanonicalLab, Quantity, canonicalize_labs
from app.interop.ucum import UCUM
from app.schemas.common import QuantityIn


def to_quantities(labs: Mapping[str, QuantityIn]) -> dict[str, Quantity]:
    return {k: Quantity(q.value, q.unit or "") for k, q in labs.items()}


def canonical(labs: Mapping[str, QuantityIn], prefix: str = "labs") -> dict[str, CanonicalLab]:
    return canonicalize_labs(to_quantities(labs), UCUM, field_prefix=prefix)


def labs_json(labs: Mapping[str, CanonicalLab]) -> dict[str, Any]:
    """Stored form: the value as entered and the canonical value, side by side."""
    return {
        key: {
            "value": float(lab.entered.value),
            "unit": lab.entered.unit,
            "canonical_value": float(lab.value),
            "canonical_unit": lab.unit,
            **({"derived_from": lab.derived_from} if lab.derived_from else {}),
        }
        for key, lab in labs.items()
    }


def score_json(result: ScoreResult) -> dict[str, Any]:
    if isinstance(result, CosshResult):
        return {
            "score": float(result.score),
            "value": float(result.value),
            "risk": result.risk,
            "version": result.version,
        }
    if isinstance(result, ChildPughResult):
        return {"score": result.score, "class": result.child_class, "version": result.version}
    assert isinstance(result, SymptomResult)
    return {"score": result.score, "version": result.version}


def scores_json(results: Mapping[str, ScoreResult]) -> dict[str, Any]:
    return {name: score_json(r) for name, r in results.items()}
