"""MELD and MELD-Na (OPTN/UNOS 2016 rules): pure functions on canonical-unit `Decimal` inputs.

Not part of the protocol (SPEC §3 names COSSH-ACLF II, Child-Pugh and the symptom score), so
kept apart from `scores`: they are left out of `compute_scores` because they need the dialysis
history, which visits do not record.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext

from app.domain.errors import FieldError, InvalidData
from app.domain.protocol import CREATININE_UMOL_L_PER_MG_DL, TBIL_UMOL_L_PER_MG_DL

_CTX = Context(prec=28, rounding=ROUND_HALF_EVEN)

MELD_VERSION = "meld-unos-2016/1"
MELD_NA_VERSION = "meld-na-unos-2016/1"
MELD_COEF_LN_CREATININE = Decimal("0.957")
MELD_COEF_LN_TBIL = Decimal("0.378")
MELD_COEF_LN_INR = Decimal("1.120")
MELD_CONSTANT = Decimal("0.643")
MELD_LAB_FLOOR = Decimal("1.0")  # lab values below 1.0 are set to 1.0
MELD_CREATININE_CAP_MG_DL = Decimal("4.0")  # also used when on dialysis
MELD_MAX = 40
MELD_NA_APPLIES_ABOVE = Decimal("11")
MELD_NA_SODIUM_MIN = Decimal("125")
MELD_NA_SODIUM_MAX = Decimal("137")
MELD_NA_COEF_SODIUM = Decimal("1.32")
MELD_NA_COEF_INTERACTION = Decimal("0.033")


@dataclass(frozen=True, slots=True)
class MeldResult:
    score: int
    version: str


def meld(
    *, creatinine_umol_l: Decimal, total_bilirubin_umol_l: Decimal, inr: Decimal, on_dialysis: bool
) -> MeldResult:
    """MELD (6-40); `on_dialysis` = dialysed twice, or 24 h CVVHD, in the past week."""
    return MeldResult(
        _final_meld(_meld_i(creatinine_umol_l, total_bilirubin_umol_l, inr, on_dialysis)),
        MELD_VERSION,
    )


def meld_na(
    *,
    creatinine_umol_l: Decimal,
    total_bilirubin_umol_l: Decimal,
    inr: Decimal,
    sodium_mmol_l: Decimal,
    on_dialysis: bool,
) -> MeldResult:
    """MELD-Na: the sodium term applies only when MELD(i) > 11; sodium bounded 125-137."""
    if not sodium_mmol_l.is_finite() or sodium_mmol_l <= 0:
        raise InvalidData.one("labs.sodium", "must be a finite number > 0")
    value = _meld_i(creatinine_umol_l, total_bilirubin_umol_l, inr, on_dialysis)
    if value > MELD_NA_APPLIES_ABOVE:
        na = min(max(sodium_mmol_l, MELD_NA_SODIUM_MIN), MELD_NA_SODIUM_MAX)
        gap = MELD_NA_SODIUM_MAX - na
        value += MELD_NA_COEF_SODIUM * gap - MELD_NA_COEF_INTERACTION * value * gap
    return MeldResult(_final_meld(value), MELD_NA_VERSION)


def _meld_i(creatinine: Decimal, tbil: Decimal, inr: Decimal, on_dialysis: bool) -> Decimal:
    """10 x the MELD linear predictor, rounded to one decimal place as UNOS does."""
    logged = {"labs.creatinine": creatinine, "labs.total_bilirubin": tbil, "labs.inr": inr}
    errors = [
        FieldError(f, "must be a finite number > 0")
        for f, v in logged.items()
        if not v.is_finite() or v <= 0
    ]
    if errors:
        raise InvalidData(errors)
    with localcontext(_CTX):
        cr = MELD_CREATININE_CAP_MG_DL if on_dialysis else creatinine / CREATININE_UMOL_L_PER_MG_DL
        cr = min(max(cr, MELD_LAB_FLOOR), MELD_CREATININE_CAP_MG_DL)
        bili = max(tbil / TBIL_UMOL_L_PER_MG_DL, MELD_LAB_FLOOR)
        inr_floored = max(inr, MELD_LAB_FLOOR)
        linear = (
            MELD_COEF_LN_CREATININE * cr.ln()
            + MELD_COEF_LN_TBIL * bili.ln()
            + MELD_COEF_LN_INR * inr_floored.ln()
            + MELD_CONSTANT
        )
        return (linear * 10).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _final_meld(value: Decimal) -> int:
    return min(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), MELD_MAX)
