"""The analytes table is SPEC §7's, pinned field by field (key, unit, LOINC, category)."""

from app.domain.analytes import ANALYTE_KEYS, ANALYTES, BY_LOINC, Category
from app.domain.units import LAB_KEYS

# Copied from SPEC §7 ("Analytes"): key -> (canonical UCUM unit, LOINC, category).
SPEC_7 = {
    "alt": ("U/L", "1742-6", "liver"),
    "ast": ("U/L", "1920-8", "liver"),
    "alp": ("U/L", "6768-6", "liver"),
    "ggt": ("U/L", "2324-2", "liver"),
    "total_bilirubin": ("umol/L", "14631-6", "liver"),
    "direct_bilirubin": ("umol/L", "14629-0", "liver"),
    "albumin": ("g/L", "1751-7", "liver"),
    "inr": ("1", "6301-6", "coagulation"),
    "pt": ("s", "5902-2", "coagulation"),
    "pta": ("%", "5894-1", "coagulation"),
    "fibrinogen": ("g/L", "3255-7", "coagulation"),
    "wbc": ("10*9/L", "6690-2", "inflammation"),
    "neutrophils": ("10*9/L", "751-8", "inflammation"),
    "crp": ("mg/L", "1988-5", "inflammation"),
    "pct": ("ng/mL", "33959-8", "inflammation"),
    "il6": ("pg/mL", "26881-3", "inflammation"),
    "platelets": ("10*9/L", "777-3", "other"),
    "hemoglobin": ("g/L", "718-7", "other"),
    "creatinine": ("umol/L", "14682-9", "other"),
    "urea": ("mmol/L", "22664-7", "other"),
    "urea_nitrogen": ("mg/dL", "3094-0", "other"),
    "sodium": ("mmol/L", "2951-2", "other"),
    "ammonia": ("umol/L", "16362-6", "other"),
}


def test_table_is_spec_7() -> None:
    got = {a.key: (a.canonical_unit, a.loinc, a.category.value) for a in ANALYTES.values()}
    assert got == SPEC_7
    assert tuple(SPEC_7) == ANALYTE_KEYS


def test_every_analyte_has_a_display_name_and_a_unique_loinc() -> None:
    assert all(a.display_name for a in ANALYTES.values())
    assert len(BY_LOINC) == len(ANALYTES)
    assert BY_LOINC["1920-8"].key == "ast"  # not BUN, as some public code has it


def test_only_inr_may_omit_its_unit() -> None:
    assert [a.key for a in ANALYTES.values() if a.unit_optional] == ["inr"]


def test_spec_6_lab_keys_are_analytes() -> None:
    assert set(LAB_KEYS) <= set(ANALYTES)
    assert {c.value for c in Category} == {"liver", "coagulation", "inflammation", "other"}
