"""The laboratory analytes of SPEC §7: key, canonical UCUM unit, LOINC code, category.

This table is the one place these facts are stated. The LOINC code is the one for the
canonical unit's property (a "[Moles/volume]" code for umol/L bilirubin, a "[Mass/volume]" one
for mg/dL BUN), so a result converted to its canonical unit carries a code that matches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """The registration's groups of "biochemical markers" (SPEC §7)."""

    LIVER = "liver"
    COAGULATION = "coagulation"
    INFLAMMATION = "inflammation"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Analyte:
    key: str
    display_name: str
    canonical_unit: str  # UCUM, case-sensitive
    loinc: str
    category: Category
    unit_optional: bool = False  # only INR: a missing unit means UCUM "1"


_LIVER = (
    Analyte("alt", "Alanine aminotransferase (ALT)", "U/L", "1742-6", Category.LIVER),
    Analyte("ast", "Aspartate aminotransferase (AST)", "U/L", "1920-8", Category.LIVER),
    Analyte("alp", "Alkaline phosphatase (ALP)", "U/L", "6768-6", Category.LIVER),
    Analyte("ggt", "Gamma-glutamyl transferase (GGT)", "U/L", "2324-2", Category.LIVER),
    Analyte("total_bilirubin", "Total bilirubin", "umol/L", "14631-6", Category.LIVER),
    Analyte("direct_bilirubin", "Direct bilirubin", "umol/L", "14629-0", Category.LIVER),
    Analyte("albumin", "Albumin", "g/L", "1751-7", Category.LIVER),
)
_COAGULATION = (
    Analyte("inr", "INR", "1", "6301-6", Category.COAGULATION, unit_optional=True),
    Analyte("pt", "Prothrombin time (PT)", "s", "5902-2", Category.COAGULATION),
    Analyte("pta", "Prothrombin activity (PTA)", "%", "5894-1", Category.COAGULATION),
    Analyte("fibrinogen", "Fibrinogen", "g/L", "3255-7", Category.COAGULATION),
)
_INFLAMMATION = (
    Analyte("wbc", "White blood cells", "10*9/L", "6690-2", Category.INFLAMMATION),
    Analyte("neutrophils", "Neutrophils", "10*9/L", "751-8", Category.INFLAMMATION),
    Analyte("crp", "C-reactive protein (CRP)", "mg/L", "1988-5", Category.INFLAMMATION),
    Analyte("pct", "Procalcitonin (PCT)", "ng/mL", "33959-8", Category.INFLAMMATION),
    Analyte("il6", "Interleukin-6 (IL-6)", "pg/mL", "26881-3", Category.INFLAMMATION),
)
_OTHER = (
    Analyte("platelets", "Platelets", "10*9/L", "777-3", Category.OTHER),
    Analyte("hemoglobin", "Hemoglobin", "g/L", "718-7", Category.OTHER),
    Analyte("creatinine", "Creatinine", "umol/L", "14682-9", Category.OTHER),
    Analyte("urea", "Urea", "mmol/L", "22664-7", Category.OTHER),
    Analyte("urea_nitrogen", "Urea nitrogen (BUN)", "mg/dL", "3094-0", Category.OTHER),
    Analyte("sodium", "Sodium", "mmol/L", "2951-2", Category.OTHER),
    Analyte("ammonia", "Ammonia", "umol/L", "16362-6", Category.OTHER),
)

ANALYTES: dict[str, Analyte] = {a.key: a for a in (*_LIVER, *_COAGULATION, *_INFLAMMATION, *_OTHER)}
ANALYTE_KEYS: tuple[str, ...] = tuple(ANALYTES)
BY_LOINC: dict[str, Analyte] = {a.loinc: a for a in ANALYTES.values()}


def analyte(key: str) -> Analyte | None:
    return ANALYTES.get(key)
