"""The trial's protocol parameters: the one place that states them.

Every window, dose, threshold and target used by the service is read from here so that a
protocol amendment is a change to one reviewed module (and the docs table generated from it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

TRIAL_CODE = "PT-MSCs-EVS-2023-1"
PRODUCT_NAME = "PT-MSCs Exosome Injection"

# --- enrollment and allocation -----------------------------------------------------------
ENROLLMENT_TARGET = 20
ARMS: tuple[str, str] = ("control", "exosome")
# Concealment: larger and more varied blocks make the next arm harder to guess; a
# statistician should still pass their own sizes (kept out of site staff's sight).
DEFAULT_BLOCK_SIZES: tuple[int, ...] = (2, 4, 6)

# --- eligibility ---------------------------------------------------------------------------
EARLIEST_DATE_OF_BIRTH = date(1900, 1, 1)  # plausibility: earlier dates are typing errors
AGE_MIN_YEARS = 18
AGE_MAX_YEARS = 65  # inclusive: eligible up to the day before the 66th birthday
COSSH_ACLF_II_ELIGIBLE_BELOW = Decimal("7.4")  # strictly below; 7.4 exactly is not eligible
SCREENING_VALID_DAYS = 7  # baseline assessment within 7 days before randomization
# ACLF laboratory part (2024 Chinese guideline)
ACLF_TBIL_MIN_UMOL_L = Decimal("171")  # = 10 mg/dL
ACLF_TBIL_MIN_ULN_MULTIPLE = Decimal("10")  # or >= 10x the lab's ULN when one is given
ACLF_INR_MIN = Decimal("1.5")
ACLF_PTA_MAX_PERCENT = Decimal("40")

# --- scores ----------------------------------------------------------------------------------
COSSH_RISK_MODERATE_FROM = Decimal("7.4")  # 7.4 <= s <= 8.4 moderate
COSSH_RISK_HIGH_ABOVE = Decimal("8.4")  # s > 8.4 high


class HeCoding(StrEnum):
    """How hepatic encephalopathy enters COSSH-ACLF II.

    `west_haven_grade` uses the grade 0-4 as written in the registration text ("0.457xHE
    grade"); `clif_c_of_score` maps none/1-2/3-4 to 1/2/3 as CLIF-C OF does.
    """

    WEST_HAVEN_GRADE = "west_haven_grade"
    CLIF_C_OF_SCORE = "clif_c_of_score"


COSSH_HE_CODING = HeCoding.WEST_HAVEN_GRADE

# Converted laboratory values are rounded to this many decimal places before any
# comparison so that a unit conversion never moves a value across a boundary.
CANONICAL_DECIMALS = 4


# --- mass <-> amount of substance (SPEC §3.4, §9.3) ----------------------------------------
@dataclass(frozen=True, slots=True)
class MassToSubstance:
    """`substance_unit` value = `mass_unit` value x multiply / divide, for one analyte.

    A UCUM library converts within a dimension (mg/L <-> mg/dL) but not between mass and
    amount of substance: that needs the molar mass. The factors are the conventional ones
    that SPEC §3.4 fixes (17.1, 88.4, / 6.006), not recomputed from the molar mass (584.66
    g/mol would give 17.104); the molar mass is stated for traceability and cross-checked by
    a test to agree within 0.1%.
    """

    mass_unit: str
    substance_unit: str
    molar_mass_g_mol: Decimal
    multiply: Decimal = Decimal(1)
    divide: Decimal = Decimal(1)


TBIL_UMOL_L_PER_MG_DL = Decimal("17.1")
CREATININE_UMOL_L_PER_MG_DL = Decimal("88.4")
UREA_MG_DL_PER_MMOL_L = Decimal("6.006")
AMMONIA_UMOL_L_PER_UG_DL = Decimal("0.5872")  # as NH3 (17.031 g/mol), the usual SI factor
_BILIRUBIN = MassToSubstance("mg/dL", "umol/L", Decimal("584.66"), TBIL_UMOL_L_PER_MG_DL)

MASS_TO_SUBSTANCE: dict[str, MassToSubstance] = {
    "total_bilirubin": _BILIRUBIN,
    "direct_bilirubin": _BILIRUBIN,
    "creatinine": MassToSubstance(
        "mg/dL", "umol/L", Decimal("113.12"), CREATININE_UMOL_L_PER_MG_DL
    ),
    "urea": MassToSubstance("mg/dL", "mmol/L", Decimal("60.06"), divide=UREA_MG_DL_PER_MMOL_L),
    "ammonia": MassToSubstance("ug/dL", "umol/L", Decimal("17.031"), AMMONIA_UMOL_L_PER_UG_DL),
}

# BUN (`urea_nitrogen`, canonical mg/dL) also gives canonical urea when urea itself is not
# entered: urea mmol/L = BUN mg/dL x 0.357 (28 mg of nitrogen per mmol of urea). BUN in
# mmol/L is refused (not commensurable with mg/dL): "mmol of what" is ambiguous.
UREA_MMOL_L_PER_BUN_MG_DL = Decimal("0.357")

# --- dosing (exosome arm only) ------------------------------------------------------------
DOSE_PARTICLES = 2 * 10**11
DOSE_VOLUME_ML = Decimal("100")
# A measured particle count or volume within +/-10% of the protocol dose is on protocol (both
# ends included); outside it the dose needs a deviation_reason (SPEC §2.4).
DOSE_AMOUNT_TOLERANCE = Decimal("0.10")
MIN_INFUSION_DURATION = timedelta(minutes=120)
MIN_INTERVAL_BETWEEN_DOSES = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class Window:
    """A study-day target with the days allowed before and after it."""

    target_day: int
    days_before: int
    days_after: int

    @property
    def first_day(self) -> int:
        return self.target_day - self.days_before

    @property
    def last_day(self) -> int:
        return self.target_day + self.days_after

    def contains(self, study_day: int) -> bool:
        return self.first_day <= study_day <= self.last_day


DOSE_WINDOWS: dict[int, Window] = {
    1: Window(1, 0, 0),
    2: Window(4, 1, 1),
    3: Window(7, 1, 1),
    4: Window(10, 1, 1),
}
DOSE_COUNT = len(DOSE_WINDOWS)

# --- follow-up visits -------------------------------------------------------------------------
VISIT_WINDOWS: dict[int, Window] = {
    4: Window(4, 1, 1),
    7: Window(7, 1, 1),
    10: Window(10, 1, 1),
    13: Window(13, 1, 1),
    28: Window(28, 3, 3),
    84: Window(84, 7, 7),
}
FINAL_VISIT_DAY = 84  # recording it completes the participant
# After a liver transplant or treatment abandonment survival is still followed: these visits
# stay in the schedule as vital-status contacts (SPEC §2.2).
SURVIVAL_CONTACT_VISIT_DAYS: tuple[int, ...] = (28, 84)

# --- endpoints ----------------------------------------------------------------------------------
SURVIVAL_4W_DAY = 28
SURVIVAL_12W_DAY = 84
CONFIDENCE_LEVEL = 0.95
# Landmarks (SPEC §1): seen alive at the Day 28 (Day 84) visit, whatever day of its window,
# is alive at t = 28 (t = 84): such a participant is censored no earlier than that t.
SURVIVAL_LANDMARKS: dict[int, int] = {28: SURVIVAL_4W_DAY, 84: SURVIVAL_12W_DAY}

# --- safety reporting clocks ----------------------------------------------------------------
SAE_REPORT_WITHIN = timedelta(hours=24)
SUSAR_FATAL_OR_LIFE_THREATENING_WITHIN = timedelta(days=7)
SUSAR_OTHER_WITHIN = timedelta(days=15)
# A fatal or life-threatening SUSAR's complete follow-up report (ICH E2A): within 8 more days.
SUSAR_FOLLOW_UP_AFTER = timedelta(days=8)
