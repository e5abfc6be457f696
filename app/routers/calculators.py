"""Stateless score calculators: the same domain code as the stored scores, nothing written."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter

from app.auth import AnyUser
from app.domain.errors import FieldError, InvalidData
from app.domain.scores import child_pugh, cossh_aclf_ii, symptom_score
from app.problems import error_responses
from app.schemas.participants import (
    CalculatorChildPughIn,
    CalculatorCosshIn,
    ChildPughOut,
    CosshOut,
    SymptomOut,
    SymptomsIn,
)
from app.services.scoring import canonical, score_json

router = APIRouter(prefix="/api/v1/calculators", tags=["calculators"])


def _require(labs: Mapping[str, object], keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in labs]
    if missing:
        raise InvalidData([_missing(k) for k in missing])


def _missing(key: str) -> FieldError:
    message = "is required (or urea_nitrogen)" if key == "urea" else "is required"
    return FieldError(f"labs.{key}", message)


@router.post("/cossh-aclf-ii", responses=error_responses(401, 403))
async def calculate_cossh_aclf(data: CalculatorCosshIn, _: AnyUser) -> CosshOut:
    """COSSH-ACLF II from age, HE grade and labs (INR, neutrophils, bilirubin, urea or
    urea_nitrogen), by the same code as the stored scores; nothing is recorded."""
    labs = canonical(data.labs)
    _require(labs, ("inr", "neutrophils", "total_bilirubin", "urea"))
    result = cossh_aclf_ii(
        inr=labs["inr"].value,
        he_grade=data.he_grade,
        neutrophils=labs["neutrophils"].value,
        total_bilirubin_umol_l=labs["total_bilirubin"].value,
        urea_mmol_l=labs["urea"].value,
        age_years=data.age,
    )
    return CosshOut.model_validate(score_json(result))


@router.post("/child-pugh", responses=error_responses(401, 403))
async def calculate_child_pugh(data: CalculatorChildPughIn, _: AnyUser) -> ChildPughOut:
    """Child-Pugh score and class from labs (bilirubin, albumin, INR), ascites and HE
    grade, by the same code as the stored scores; nothing is recorded."""
    labs = canonical(data.labs)
    _require(labs, ("total_bilirubin", "albumin", "inr"))
    result = child_pugh(
        total_bilirubin_umol_l=labs["total_bilirubin"].value,
        albumin_g_l=labs["albumin"].value,
        inr=labs["inr"].value,
        ascites=data.ascites,
        he_grade=data.he_grade,
    )
    return ChildPughOut.model_validate(score_json(result))


@router.post("/symptom-score", responses=error_responses(401, 403))
async def calculate_symptom_score(data: SymptomsIn, _: AnyUser) -> SymptomOut:
    """The clinical symptom score (five items, each 0-3); nothing is recorded."""
    return SymptomOut.model_validate(score_json(symptom_score(**data.model_dump())))
