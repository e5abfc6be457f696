"""Clinical scores (SPEC §3.1-3.3): pure functions on canonical-unit `Decimal` inputs.

Each score carries a version string that is stored with it, so a stored value can always be
traced to the exact algorithm (and, for COSSH-ACLF II, the HE coding) that produced it.
Formula coefficients and Child-Pugh bands are part of the published score definitions and
live here, next to their version; trial thresholds come from `protocol`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from app.domain import protocol
from app.domain.errors import FieldError, InvalidData
from app.domain.protocol import (
    HeCoding,
)
from app.domain.units import CanonicalLab

_CTX = Context(prec=28, rounding=ROUND_HALF_EVEN)
_DISPLAY_QUANTUM = Decimal("0.001")

HE_GRADES = range(0, 5)  # West Haven 0 (none) to 4
ASCITES_GRADES: tuple[str, ...] = ("none", "mild", "moderate_severe")
SYMPTOM_ITEMS: tuple[str, ...] = ("fatigue", "anorexia", "nausea", "jaundice", "consciousness")
SYMPTOM_ITEM_RANGE = range(0, 4)  # 0 absent ... 3 severe

# --- COSSH-ACLF II (Li J et al., J Hepatol 2021; registration text) ------------------------
COSSH_ACLF_II_VERSION = f"cossh-aclf-ii/1 (he={protocol.COSSH_HE_CODING.value})"
COSSH_COEF_LN_INR = Decimal("1.649")
COSSH_COEF_HE = Decimal("0.457")
COSSH_COEF_LN_NEUTROPHILS = Decimal("0.425")
COSSH_COEF_LN_TBIL = Decimal("0.396")
COSSH_COEF_LN_UREA = Decimal("0.576")
COSSH_COEF_AGE = Decimal("0.033")

# --- Child-Pugh: (upper bound of 1 point, upper bound of 2 points), both inclusive ---------
CHILD_PUGH_VERSION = "child-pugh/1 (middle bands inclusive; tbil umol/L, albumin g/L)"
CP_TBIL_2_FROM_UMOL_L = Decimal("34.2")  # 2 mg/dL
CP_TBIL_2_TO_UMOL_L = Decimal("51.3")  # 3 mg/dL
CP_ALBUMIN_2_FROM_G_L = Decimal("28")
CP_ALBUMIN_2_TO_G_L = Decimal("35")
CP_INR_2_FROM = Decimal("1.7")
CP_INR_2_TO = Decimal("2.3")
CP_CLASS_B_FROM = 7
CP_CLASS_C_FROM = 10
_ASCITES_POINTS = {"none": 1, "mild": 2, "moderate_severe": 3}

SYMPTOM_SCORE_VERSION = "symptom-score/1 (5 items, 0-3 each)"


@dataclass(frozen=True, slots=True)
class CosshResult:
    """`value` is unrounded and decides the risk; `score` is for display only."""

    value: Decimal
    score: Decimal
    risk: str
    version: str = COSSH_ACLF_II_VERSION


@dataclass(frozen=True, slots=True)
class ChildPughResult:
    score: int
    child_class: str
    version: str = CHILD_PUGH_VERSION


@dataclass(frozen=True, slots=True)
class SymptomResult:
    score: int
    version: str = SYMPTOM_SCORE_VERSION


ScoreResult = CosshResult | ChildPughResult | SymptomResult


# --- COSSH-ACLF II ---------------------------------------------------------------------------
def cossh_risk(value: Decimal) -> str:
    """Risk group on the UNROUNDED score, as the registration text words it (8.4 is moderate)."""
    if value < protocol.COSSH_RISK_MODERATE_FROM:
        return "low"
    if value <= protocol.COSSH_RISK_HIGH_ABOVE:
        return "moderate"
    return "high"


def is_cossh_eligible(value: Decimal) -> bool:
    """Strictly below the limit on the unrounded score: 7.4 exactly is not eligible."""
    return value < protocol.COSSH_ACLF_II_ELIGIBLE_BELOW


def cossh_he_term(he_grade: int, coding: HeCoding = protocol.COSSH_HE_CODING) -> int:
    """The HE value entering the formula under the configured coding (SPEC §3.1)."""
    if coding is HeCoding.WEST_HAVEN_GRADE:
        return he_grade
    return _he_band(he_grade)


def cossh_aclf_ii(
    *,
    inr: Decimal,
    he_grade: int,
    neutrophils: Decimal,
    total_bilirubin_umol_l: Decimal,
    urea_mmol_l: Decimal,
    age_years: int,
) -> CosshResult:
    """COSSH-ACLF II from canonical-unit inputs; every log argument must be > 0."""
    logged = {
        "labs.inr": inr,
        "labs.neutrophils": neutrophils,
        "labs.total_bilirubin": total_bilirubin_umol_l,
        "labs.urea": urea_mmol_l,
    }
    errors = [
        FieldError(f, "must be a finite number > 0") for f, v in logged.items() if _bad_log(v)
    ]
    errors += _he_errors(he_grade)
    if age_years < 0:
        errors.append(FieldError("age", "must not be negative"))
    if errors:
        raise InvalidData(errors)
    with localcontext(_CTX):
        value = (
            COSSH_COEF_LN_INR * inr.ln()
            + COSSH_COEF_HE * cossh_he_term(he_grade)
            + COSSH_COEF_LN_NEUTROPHILS * neutrophils.ln()
            + COSSH_COEF_LN_TBIL * total_bilirubin_umol_l.ln()
            + COSSH_COEF_LN_UREA * urea_mmol_l.ln()
            + COSSH_COEF_AGE * age_years
        )
    score = value.quantize(_DISPLAY_QUANTUM, context=_CTX)
    return CosshResult(value=value, score=score, risk=cossh_risk(value))


def _bad_log(value: Decimal) -> bool:
    return not value.is_finite() or value <= 0


def _he_errors(he_grade: int) -> list[FieldError]:
    if he_grade in HE_GRADES:
        return []
    return [FieldError("he_grade", "must be a West Haven grade 0-4")]


def _he_band(he_grade: int) -> int:
    """none -> 1, grade 1-2 -> 2, grade 3-4 -> 3 (Child-Pugh and CLIF-C OF banding)."""
    if he_grade == 0:
        return 1
    return 2 if he_grade <= 2 else 3


# --- Child-Pugh --------------------------------------------------------------------------------
def child_pugh(
    *,
    total_bilirubin_umol_l: Decimal,
    albumin_g_l: Decimal,
    inr: Decimal,
    ascites: str,
    he_grade: int,
) -> ChildPughResult:
    """Child-Pugh score and class; middle bands include both ends (SPEC §3.2)."""
    score = sum(
        child_pugh_points(
            total_bilirubin_umol_l=total_bilirubin_umol_l,
            albumin_g_l=albumin_g_l,
            inr=inr,
            ascites=ascites,
            he_grade=he_grade,
        ).values()
    )
    return ChildPughResult(score=score, child_class=_child_class(score))


def child_pugh_points(
    *,
    total_bilirubin_umol_l: Decimal,
    albumin_g_l: Decimal,
    inr: Decimal,
    ascites: str,
    he_grade: int,
) -> dict[str, int]:
    """The points (1-3) of each of the five Child-Pugh items; they sum to the score."""
    errors = _child_pugh_errors(total_bilirubin_umol_l, albumin_g_l, inr, ascites, he_grade)
    if errors:
        raise InvalidData(errors)
    return {
        "he_grade": _he_band(he_grade),
        "ascites": _ASCITES_POINTS[ascites],
        "total_bilirubin": _rising_points(
            total_bilirubin_umol_l, CP_TBIL_2_FROM_UMOL_L, CP_TBIL_2_TO_UMOL_L
        ),
        "albumin": _falling_points(albumin_g_l, CP_ALBUMIN_2_FROM_G_L, CP_ALBUMIN_2_TO_G_L),
        "inr": _rising_points(inr, CP_INR_2_FROM, CP_INR_2_TO),
    }


def _child_pugh_errors(
    tbil: Decimal, albumin: Decimal, inr: Decimal, ascites: str, he_grade: int
) -> list[FieldError]:
    labs = {"labs.total_bilirubin": tbil, "labs.albumin": albumin, "labs.inr": inr}
    errors = [
        FieldError(f, "must be a finite number >= 0")
        for f, v in labs.items()
        if not v.is_finite() or v < 0
    ]
    if ascites not in _ASCITES_POINTS:
        errors.append(FieldError("ascites", f"must be one of: {', '.join(ASCITES_GRADES)}"))
    return errors + _he_errors(he_grade)


def _rising_points(value: Decimal, two_from: Decimal, two_to: Decimal) -> int:
    """1 below the band, 2 inside it (ends included), 3 above: worse when higher."""
    if value < two_from:
        return 1
    return 2 if value <= two_to else 3


def _falling_points(value: Decimal, two_from: Decimal, two_to: Decimal) -> int:
    """1 above the band, 2 inside it (ends included), 3 below: worse when lower."""
    if value > two_to:
        return 1
    return 2 if value >= two_from else 3


def _child_class(score: int) -> str:
    if score >= CP_CLASS_C_FROM:
        return "C"
    return "B" if score >= CP_CLASS_B_FROM else "A"


# --- clinical symptom score -----------------------------------------------------------------
def symptom_score(
    *, fatigue: int, anorexia: int, nausea: int, jaundice: int, consciousness: int
) -> SymptomResult:
    """Sum of the five items, each 0 (absent) to 3 (severe)."""
    items = {
        "fatigue": fatigue,
        "anorexia": anorexia,
        "nausea": nausea,
        "jaundice": jaundice,
        "consciousness": consciousness,
    }
    errors = [
        FieldError(f"symptoms.{name}", "must be an integer 0-3")
        for name, grade in items.items()
        if grade not in SYMPTOM_ITEM_RANGE
    ]
    if errors:
        raise InvalidData(errors)
    return SymptomResult(score=sum(items.values()))


# --- all scores whose inputs are present ------------------------------------------------------
COSSH_LABS: tuple[str, ...] = ("inr", "neutrophils", "total_bilirubin", "urea")
CHILD_PUGH_LABS: tuple[str, ...] = ("total_bilirubin", "albumin", "inr")


def compute_scores(
    *,
    labs: Mapping[str, CanonicalLab],
    he_grade: int | None,
    ascites: str | None,
    symptoms: Mapping[str, int] | None,
    age_years: int,
) -> dict[str, ScoreResult]:
    """Every score whose inputs are all present, keyed as in SPEC §6; bad inputs -> one error.

    A score with a missing input is left out (not an error). Symptoms are the exception
    once given: an empty mapping means "not assessed", a partial one is refused (§3.3).
    """
    calculators: dict[str, Callable[[], ScoreResult | None]] = {
        "cossh_aclf_ii": lambda: _cossh_from_labs(labs, he_grade, age_years),
        "child_pugh": lambda: _child_pugh_from_labs(labs, he_grade, ascites),
        "symptom_score": lambda: _symptoms_from_mapping(symptoms),
    }
    results: dict[str, ScoreResult] = {}
    errors: list[FieldError] = []
    for name, calculate in calculators.items():
        try:
            result = calculate()
        except InvalidData as exc:
            errors += [e for e in exc.errors if e not in errors]
            continue
        if result is not None:
            results[name] = result
    if errors:
        raise InvalidData(errors)
    return results


def _cossh_from_labs(
    labs: Mapping[str, CanonicalLab], he_grade: int | None, age_years: int
) -> CosshResult | None:
    if he_grade is None or any(k not in labs for k in COSSH_LABS):
        return None
    return cossh_aclf_ii(
        inr=labs["inr"].value,
        he_grade=he_grade,
        neutrophils=labs["neutrophils"].value,
        total_bilirubin_umol_l=labs["total_bilirubin"].value,
        urea_mmol_l=labs["urea"].value,
        age_years=age_years,
    )


def _child_pugh_from_labs(
    labs: Mapping[str, CanonicalLab], he_grade: int | None, ascites: str | None
) -> ChildPughResult | None:
    if he_grade is None or ascites is None or any(k not in labs for k in CHILD_PUGH_LABS):
        return None
    return child_pugh(
        total_bilirubin_umol_l=labs["total_bilirubin"].value,
        albumin_g_l=labs["albumin"].value,
        inr=labs["inr"].value,
        ascites=ascites,
        he_grade=he_grade,
    )


def _symptoms_from_mapping(symptoms: Mapping[str, int] | None) -> SymptomResult | None:
    if not symptoms:
        return None
    unknown = [k for k in symptoms if k not in SYMPTOM_ITEMS]
    missing = [k for k in SYMPTOM_ITEMS if k not in symptoms]
    errors = [FieldError(f"symptoms.{k}", "unknown symptom item") for k in unknown]
    errors += [FieldError(f"symptoms.{k}", "required (all five items)") for k in missing]
    if errors:
        raise InvalidData(errors)
    return symptom_score(**symptoms)
