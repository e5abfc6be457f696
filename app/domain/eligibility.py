"""Screening eligibility (SPEC §2.1): a pure decision that lists every failed criterion.

COSSH-ACLF II is computed here from the screening values, never taken from the client. A
screen failure keeps all of its reasons (CONSORT needs them), so no check stops at the first
failure. Each reason is "<code>: <human text>"; the codes are stable, the text may change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.domain import protocol
from app.domain.errors import FieldError, InvalidData
from app.domain.scores import (
    ASCITES_GRADES,
    CosshResult,
    ScoreResult,
    compute_scores,
    is_cossh_eligible,
)
from app.domain.units import CanonicalLab

AGE_BELOW_MIN = "age_below_min"
AGE_ABOVE_MAX = "age_above_max"
COSSH_NOT_BELOW_LIMIT = "cossh_aclf_ii_not_below_limit"
ACLF_NOT_CONFIRMED = "aclf_diagnosis_not_confirmed"
ACLF_BILIRUBIN_TOO_LOW = "aclf_total_bilirubin_below_threshold"
ACLF_COAGULOPATHY_NOT_MET = "aclf_coagulopathy_not_met"
REASON_CODES: tuple[str, ...] = (
    AGE_BELOW_MIN,
    AGE_ABOVE_MAX,
    COSSH_NOT_BELOW_LIMIT,
    ACLF_NOT_CONFIRMED,
    ACLF_BILIRUBIN_TOO_LOW,
    ACLF_COAGULOPATHY_NOT_MET,
)

# Labs without which no decision can be made (COSSH-ACLF II needs all of them).
REQUIRED_LABS: tuple[str, ...] = ("inr", "neutrophils", "total_bilirubin", "urea")


@dataclass(frozen=True)
class EligibilityDecision:
    """The outcome of screening; `reasons` is empty exactly when `eligible`."""

    eligible: bool
    reasons: list[str]
    age_years: int
    scores: dict[str, ScoreResult] = field(default_factory=dict)

    @property
    def reason_codes(self) -> list[str]:
        return [reason.split(":", 1)[0] for reason in self.reasons]


def age_in_completed_years(date_of_birth: date, on: date) -> int:
    """Completed years on `on`; a 29 February birthday is reached on 1 March in common years.

    (Comparing (month, day) pairs does that: (2, 28) is before (2, 29), (3, 1) is after it.)
    """
    if on < date_of_birth:
        raise InvalidData.one("date_of_birth", "is after the assessment date")
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(before_birthday)


def assess_eligibility(
    *,
    date_of_birth: date,
    assessment_date: date,
    labs: Mapping[str, CanonicalLab],
    tbil_uln_umol_l: Decimal | None,
    he_grade: int,
    ascites: str,
    aclf_diagnosis_confirmed: bool,
) -> EligibilityDecision:
    """Decide eligibility from canonical screening values (see `canonicalize_labs`)."""
    _check_inputs(date_of_birth, assessment_date, labs, tbil_uln_umol_l, ascites)
    age = age_in_completed_years(date_of_birth, assessment_date)
    scores = compute_scores(
        labs=labs, he_grade=he_grade, ascites=ascites, symptoms=None, age_years=age
    )
    cossh = scores["cossh_aclf_ii"]
    assert isinstance(cossh, CosshResult)  # all its inputs were checked above
    reasons = [
        *_age_reasons(age, assessment_date),
        *_cossh_reasons(cossh),
        *_diagnosis_reasons(aclf_diagnosis_confirmed),
        *_bilirubin_reasons(labs["total_bilirubin"].value, tbil_uln_umol_l),
        *_coagulopathy_reasons(labs["inr"].value, labs.get("pta")),
    ]
    return EligibilityDecision(not reasons, reasons, age, scores)


def _check_inputs(
    date_of_birth: date,
    assessment_date: date,
    labs: Mapping[str, CanonicalLab],
    tbil_uln_umol_l: Decimal | None,
    ascites: str,
) -> None:
    """Refuse, naming every field, inputs that make a decision impossible."""
    errors = [_missing_lab(key) for key in REQUIRED_LABS if key not in labs]
    if assessment_date < date_of_birth:
        errors.append(FieldError("date_of_birth", "is after the assessment date"))
    if tbil_uln_umol_l is not None and (not tbil_uln_umol_l.is_finite() or tbil_uln_umol_l <= 0):
        errors.append(FieldError("labs.total_bilirubin.uln", "must be a finite number > 0"))
    if ascites not in ASCITES_GRADES:
        errors.append(FieldError("ascites", f"must be one of: {', '.join(ASCITES_GRADES)}"))
    if errors:
        raise InvalidData(errors)


def _missing_lab(key: str) -> FieldError:
    if key == "urea":
        return FieldError("labs.urea", "required for COSSH-ACLF II (or labs.urea_nitrogen)")
    return FieldError(f"labs.{key}", "required for COSSH-ACLF II")


def _age_reasons(age: int, on: date) -> list[str]:
    if age < protocol.AGE_MIN_YEARS:
        return [f"{AGE_BELOW_MIN}: age {age} on {on} is below {protocol.AGE_MIN_YEARS}"]
    if age > protocol.AGE_MAX_YEARS:
        return [f"{AGE_ABOVE_MAX}: age {age} on {on} is above {protocol.AGE_MAX_YEARS}"]
    return []


def _cossh_reasons(cossh: CosshResult) -> list[str]:
    """Decided on the unrounded value; the text shows enough digits to explain a 7.400."""
    if is_cossh_eligible(cossh.value):
        return []
    limit = protocol.COSSH_ACLF_II_ELIGIBLE_BELOW
    shown = cossh.value.quantize(Decimal("0.000001"))
    return [f"{COSSH_NOT_BELOW_LIMIT}: COSSH-ACLF II {shown} is not below {limit}"]


def _diagnosis_reasons(confirmed: bool) -> list[str]:
    if confirmed:
        return []
    return [f"{ACLF_NOT_CONFIRMED}: the investigator has not confirmed the ACLF diagnosis"]


def _bilirubin_reasons(tbil_umol_l: Decimal, uln_umol_l: Decimal | None) -> list[str]:
    """TBil >= 171 umol/L, or >= 10x the lab's ULN when the lab gives one: either suffices,
    so the threshold is min(171, 10 x ULN) (SPEC §2.1, amended)."""
    threshold = protocol.ACLF_TBIL_MIN_UMOL_L
    basis = f"{threshold} umol/L"
    if uln_umol_l is not None:
        by_uln = protocol.ACLF_TBIL_MIN_ULN_MULTIPLE * uln_umol_l
        threshold = min(threshold, by_uln)
        basis += f" and below {protocol.ACLF_TBIL_MIN_ULN_MULTIPLE}x ULN {uln_umol_l} = {by_uln}"
    if tbil_umol_l >= threshold:
        return []
    text = f"total bilirubin {tbil_umol_l.normalize():f} umol/L is below {basis}"
    return [f"{ACLF_BILIRUBIN_TOO_LOW}: {text}"]


def _coagulopathy_reasons(inr: Decimal, pta: CanonicalLab | None) -> list[str]:
    """INR >= 1.5 OR prothrombin activity <= 40%."""
    if inr >= protocol.ACLF_INR_MIN:
        return []
    if pta is not None and pta.value <= protocol.ACLF_PTA_MAX_PERCENT:
        return []
    inr_text = f"INR {inr.normalize():f} is below {protocol.ACLF_INR_MIN}"
    if pta is None:
        pta_text = "no PTA given"
    else:
        pta_text = f"PTA {pta.value.normalize():f}% is above {protocol.ACLF_PTA_MAX_PERCENT}%"
    return [f"{ACLF_COAGULOPATHY_NOT_MET}: {inr_text} and {pta_text}"]
