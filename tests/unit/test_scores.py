"""Scores (SPEC §3.1-3.3), checked against hand computations and their boundaries."""

import math
from decimal import Decimal

import pytest

from app.domain import meld, protocol, scores
from app.domain.errors import InvalidData
from app.domain.protocol import HeCoding
from app.domain.scores import (
    ChildPughResult,
    CosshResult,
    SymptomResult,
    child_pugh,
    compute_scores,
    cossh_aclf_ii,
    cossh_he_term,
    cossh_risk,
    is_cossh_eligible,
    symptom_score,
)
from app.domain.units import Quantity, canonicalize_labs
from app.interop.ucum import UCUM

D = Decimal


def q(value: str, unit: str) -> Quantity:
    return Quantity(D(value), unit)


def cossh(**overrides: object) -> CosshResult:
    args: dict[str, object] = {
        "inr": D("2.1"),
        "he_grade": 1,
        "neutrophils": D("5.6"),
        "total_bilirubin_umol_l": D("342"),
        "urea_mmol_l": D("6.2"),
        "age_years": 48,
    }
    args.update(overrides)
    return cossh_aclf_ii(**args)  # type: ignore[arg-type]


def fields(exc: pytest.ExceptionInfo[InvalidData]) -> list[str]:
    return [e.field for e in exc.value.errors]


# --- COSSH-ACLF II -------------------------------------------------------------------------
def test_cossh_matches_hand_computation() -> None:
    expected = (
        1.649 * math.log(2.1)
        + 0.457 * 1
        + 0.425 * math.log(5.6)
        + 0.396 * math.log(342)
        + 0.576 * math.log(6.2)
        + 0.033 * 48
    )
    result = cossh()
    assert abs(float(result.value) - expected) < 1e-9
    assert result.score == result.value.quantize(D("0.001"))
    assert result.score.as_tuple().exponent == -3
    assert result.risk == cossh_risk(result.value)
    assert result.version == scores.COSSH_ACLF_II_VERSION


def test_cossh_value_keeps_full_precision() -> None:
    result = cossh()
    assert result.value != result.score
    assert len(result.value.as_tuple().digits) > 20


def test_cossh_version_names_the_he_coding() -> None:
    assert protocol.COSSH_HE_CODING.value in scores.COSSH_ACLF_II_VERSION
    assert scores.COSSH_ACLF_II_VERSION.startswith("cossh-aclf-ii/")


def test_cossh_with_all_logs_zero_is_linear_terms_only() -> None:
    result = cossh(
        inr=D(1), neutrophils=D(1), total_bilirubin_umol_l=D(1), urea_mmol_l=D(1), he_grade=2
    )
    assert result.value == D("0.457") * 2 + D("0.033") * 48


@pytest.mark.parametrize(
    ("value", "risk"),
    [
        ("7.3999999", "low"),
        ("7.4", "moderate"),
        ("7.40", "moderate"),
        ("8.4", "moderate"),
        ("8.4000001", "high"),
        ("1.0", "low"),
        ("12", "high"),
    ],
)
def test_cossh_risk_bands_on_unrounded_value(value: str, risk: str) -> None:
    assert cossh_risk(D(value)) == risk


@pytest.mark.parametrize(
    ("value", "eligible"), [("7.3999999", True), ("7.4", False), ("7.4000001", False)]
)
def test_cossh_eligibility_limit_is_strict(value: str, eligible: bool) -> None:
    assert is_cossh_eligible(D(value)) is eligible


def test_unrounded_value_decides_not_display_score() -> None:
    # choose urea so the unrounded value is just below 7.4 although it displays as 7.400
    base = cossh(urea_mmol_l=D(1), he_grade=0, age_years=40)
    target = D("7.39996")
    urea = ((target - base.value) / D("0.576")).exp()
    result = cossh(urea_mmol_l=urea, he_grade=0, age_years=40)
    assert result.score == D("7.400")
    assert result.value < D("7.4")
    assert result.risk == "low"
    assert is_cossh_eligible(result.value)


def test_tbil_entered_in_mg_dl_without_conversion_scores_1_124_lower() -> None:
    converted = canonicalize_labs({"total_bilirubin": q("20", "mg/dL")}, UCUM)["total_bilirubin"]
    as_umol = canonicalize_labs({"total_bilirubin": q("342", "umol/L")}, UCUM)["total_bilirubin"]
    assert converted.value == as_umol.value
    right = cossh(total_bilirubin_umol_l=converted.value)
    assert right.value == cossh(total_bilirubin_umol_l=as_umol.value).value
    wrong = cossh(total_bilirubin_umol_l=D("20"))  # mg/dL number taken as umol/L
    diff = right.value - wrong.value
    assert abs(float(diff) - 0.396 * math.log(17.1)) < 1e-9
    assert round(diff, 3) == D("1.124")


def test_bun_entered_as_urea_without_conversion_scores_0_593_higher() -> None:
    labs = canonicalize_labs({"urea_nitrogen": q("30", "mg/dL")}, UCUM)
    right = cossh(urea_mmol_l=labs["urea"].value)
    same_as_urea = cossh(urea_mmol_l=D("10.71"))
    assert right.value == same_as_urea.value
    wrong = cossh(urea_mmol_l=D("30"))  # BUN mg/dL number taken as urea mmol/L
    diff = wrong.value - right.value
    assert abs(float(diff) - 0.576 * math.log(1 / 0.357)) < 1e-9
    assert round(diff, 3) == D("0.593")


def test_urea_mg_dl_and_mmol_l_score_the_same() -> None:
    from_mg = canonicalize_labs({"urea": q("60.06", "mg/dL")}, UCUM)["urea"].value
    from_mmol = canonicalize_labs({"urea": q("10", "mmol/L")}, UCUM)["urea"].value
    assert cossh(urea_mmol_l=from_mg).value == cossh(urea_mmol_l=from_mmol).value


@pytest.mark.parametrize(
    ("arg", "field"),
    [
        ("inr", "labs.inr"),
        ("neutrophils", "labs.neutrophils"),
        ("total_bilirubin_umol_l", "labs.total_bilirubin"),
        ("urea_mmol_l", "labs.urea"),
    ],
)
@pytest.mark.parametrize("bad", ["0", "-1", "NaN", "Infinity"])
def test_cossh_log_inputs_must_be_positive(arg: str, field: str, bad: str) -> None:
    with pytest.raises(InvalidData) as exc:
        cossh(**{arg: D(bad)})
    assert fields(exc) == [field]


@pytest.mark.parametrize("he", [-1, 5])
def test_cossh_he_grade_range(he: int) -> None:
    with pytest.raises(InvalidData) as exc:
        cossh(he_grade=he)
    assert fields(exc) == ["he_grade"]


def test_cossh_negative_age() -> None:
    with pytest.raises(InvalidData) as exc:
        cossh(age_years=-1)
    assert fields(exc) == ["age"]


def test_cossh_reports_every_bad_input() -> None:
    with pytest.raises(InvalidData) as exc:
        cossh(inr=D(0), urea_mmol_l=D(0), he_grade=7)
    assert fields(exc) == ["labs.inr", "labs.urea", "he_grade"]


@pytest.mark.parametrize(
    ("grade", "west_haven", "clif"), [(0, 0, 1), (1, 1, 2), (2, 2, 2), (3, 3, 3), (4, 4, 3)]
)
def test_he_codings(grade: int, west_haven: int, clif: int) -> None:
    assert cossh_he_term(grade, HeCoding.WEST_HAVEN_GRADE) == west_haven
    assert cossh_he_term(grade, HeCoding.CLIF_C_OF_SCORE) == clif


def test_default_he_coding_is_the_registration_text() -> None:
    assert cossh_he_term(3) == cossh_he_term(3, protocol.COSSH_HE_CODING)
    assert cossh(he_grade=3).value - cossh(he_grade=0).value == D("0.457") * 3


# --- Child-Pugh ------------------------------------------------------------------------------
def cp_tbil_points(value: str, unit: str) -> int:
    """Child-Pugh points of bilirubin alone (everything else at 1 point)."""
    tbil = canonicalize_labs({"total_bilirubin": q(value, unit)}, UCUM)["total_bilirubin"].value
    result = child_pugh(
        total_bilirubin_umol_l=tbil, albumin_g_l=D(40), inr=D(1), ascites="none", he_grade=0
    )
    return result.score - 4


def cp_albumin_points(value: str, unit: str) -> int:
    albumin = canonicalize_labs({"albumin": q(value, unit)}, UCUM)["albumin"].value
    result = child_pugh(
        total_bilirubin_umol_l=D(10), albumin_g_l=albumin, inr=D(1), ascites="none", he_grade=0
    )
    return result.score - 4


def cp_inr_points(value: str) -> int:
    result = child_pugh(
        total_bilirubin_umol_l=D(10), albumin_g_l=D(40), inr=D(value), ascites="none", he_grade=0
    )
    return result.score - 4


@pytest.mark.parametrize(
    ("value", "unit", "points"),
    [
        ("1.99", "mg/dL", 1),
        ("2.0", "mg/dL", 2),
        ("2", "mg/dL", 2),
        ("3.0", "mg/dL", 2),
        ("3.01", "mg/dL", 3),
        ("34.1999", "umol/L", 1),
        ("34.2", "umol/L", 2),
        ("51.3", "umol/L", 2),
        ("51.3001", "umol/L", 3),
    ],
)
def test_child_pugh_bilirubin_boundaries(value: str, unit: str, points: int) -> None:
    assert cp_tbil_points(value, unit) == points


@pytest.mark.parametrize(
    ("value", "unit", "points"),
    [
        ("3.51", "g/dL", 1),
        ("3.5", "g/dL", 2),
        ("2.8", "g/dL", 2),
        ("2.79", "g/dL", 3),
        ("35.0001", "g/L", 1),
        ("35", "g/L", 2),
        ("28", "g/L", 2),
        ("27.9999", "g/L", 3),
    ],
)
def test_child_pugh_albumin_boundaries(value: str, unit: str, points: int) -> None:
    assert cp_albumin_points(value, unit) == points


@pytest.mark.parametrize(
    ("value", "points"), [("1.69", 1), ("1.7", 2), ("2.3", 2), ("2.31", 3), ("1", 1), ("4", 3)]
)
def test_child_pugh_inr_boundaries(value: str, points: int) -> None:
    assert cp_inr_points(value) == points


@pytest.mark.parametrize(("ascites", "points"), [("none", 1), ("mild", 2), ("moderate_severe", 3)])
def test_child_pugh_ascites(ascites: str, points: int) -> None:
    result = child_pugh(
        total_bilirubin_umol_l=D(10), albumin_g_l=D(40), inr=D(1), ascites=ascites, he_grade=0
    )
    assert result.score == 4 + points


@pytest.mark.parametrize(("he", "points"), [(0, 1), (1, 2), (2, 2), (3, 3), (4, 3)])
def test_child_pugh_he(he: int, points: int) -> None:
    result = child_pugh(
        total_bilirubin_umol_l=D(10), albumin_g_l=D(40), inr=D(1), ascites="none", he_grade=he
    )
    assert result.score == 4 + points


@pytest.mark.parametrize(
    ("tbil", "albumin", "inr", "ascites", "he", "score", "cls"),
    [
        ("10", "40", "1", "none", 0, 5, "A"),
        ("40", "40", "1", "none", 0, 6, "A"),
        ("40", "30", "1", "none", 0, 7, "B"),
        ("40", "30", "2", "mild", 0, 9, "B"),
        ("40", "30", "2", "mild", 1, 10, "C"),
        ("300", "20", "3", "moderate_severe", 4, 15, "C"),
    ],
)
def test_child_pugh_classes(
    tbil: str, albumin: str, inr: str, ascites: str, he: int, score: int, cls: str
) -> None:
    result = child_pugh(
        total_bilirubin_umol_l=D(tbil),
        albumin_g_l=D(albumin),
        inr=D(inr),
        ascites=ascites,
        he_grade=he,
    )
    assert result == ChildPughResult(score=score, child_class=cls)
    assert result.version == scores.CHILD_PUGH_VERSION


def test_child_pugh_invalid_inputs_named() -> None:
    with pytest.raises(InvalidData) as exc:
        child_pugh(
            total_bilirubin_umol_l=D(-1),
            albumin_g_l=D("NaN"),
            inr=D(-2),
            ascites="severe",
            he_grade=5,
        )
    assert fields(exc) == [
        "labs.total_bilirubin",
        "labs.albumin",
        "labs.inr",
        "ascites",
        "he_grade",
    ]


# --- symptom score ---------------------------------------------------------------------------
def test_symptom_score_sums_items() -> None:
    result = symptom_score(fatigue=3, anorexia=2, nausea=0, jaundice=3, consciousness=1)
    assert result == SymptomResult(score=9)
    assert result.version == scores.SYMPTOM_SCORE_VERSION


def test_symptom_score_range() -> None:
    assert symptom_score(fatigue=0, anorexia=0, nausea=0, jaundice=0, consciousness=0).score == 0
    assert symptom_score(fatigue=3, anorexia=3, nausea=3, jaundice=3, consciousness=3).score == 15


@pytest.mark.parametrize("item", scores.SYMPTOM_ITEMS)
@pytest.mark.parametrize("bad", [-1, 4])
def test_symptom_item_out_of_range_named(item: str, bad: int) -> None:
    items = dict.fromkeys(scores.SYMPTOM_ITEMS, 1)
    items[item] = bad
    with pytest.raises(InvalidData) as exc:
        symptom_score(**items)
    assert fields(exc) == [f"symptoms.{item}"]


# --- compute_scores -------------------------------------------------------------------------
FULL_LABS = {
    "inr": q("2.1", ""),
    "neutrophils": q("5.6", "10*9/L"),
    "total_bilirubin": q("20", "mg/dL"),
    "urea_nitrogen": q("17.366", "mg/dL"),
    "albumin": q("3.0", "g/dL"),
}
SYMPTOMS = {"fatigue": 2, "anorexia": 1, "nausea": 0, "jaundice": 3, "consciousness": 0}


def test_compute_scores_all_present() -> None:
    labs = canonicalize_labs(FULL_LABS, UCUM)
    result = compute_scores(labs=labs, he_grade=1, ascites="mild", symptoms=SYMPTOMS, age_years=48)
    assert set(result) == {"cossh_aclf_ii", "child_pugh", "symptom_score"}
    assert isinstance(result["cossh_aclf_ii"], CosshResult)
    assert result["cossh_aclf_ii"].value == cossh(urea_mmol_l=labs["urea"].value).value
    assert result["child_pugh"] == ChildPughResult(score=3 + 2 + 2 + 2 + 2, child_class="C")
    assert result["symptom_score"] == SymptomResult(score=6)


def test_compute_scores_only_those_with_inputs() -> None:
    labs = canonicalize_labs({k: v for k, v in FULL_LABS.items() if k != "albumin"}, UCUM)
    result = compute_scores(labs=labs, he_grade=1, ascites=None, symptoms=None, age_years=48)
    assert set(result) == {"cossh_aclf_ii"}
    none = compute_scores(labs={}, he_grade=None, ascites=None, symptoms={}, age_years=48)
    assert none == {}


def test_compute_scores_without_he_grade_skips_he_scores() -> None:
    labs = canonicalize_labs(FULL_LABS, UCUM)
    result = compute_scores(
        labs=labs, he_grade=None, ascites="none", symptoms=SYMPTOMS, age_years=48
    )
    assert set(result) == {"symptom_score"}


def test_compute_scores_partial_symptoms_refused() -> None:
    with pytest.raises(InvalidData) as exc:
        compute_scores(
            labs={}, he_grade=None, ascites=None, symptoms={"fatigue": 1, "itch": 2}, age_years=1
        )
    assert fields(exc) == [
        "symptoms.itch",
        "symptoms.anorexia",
        "symptoms.nausea",
        "symptoms.jaundice",
        "symptoms.consciousness",
    ]


def test_compute_scores_collects_errors_once_per_field() -> None:
    labs = canonicalize_labs({**FULL_LABS, "neutrophils": q("0", "10*9/L")}, UCUM)
    with pytest.raises(InvalidData) as exc:
        compute_scores(labs=labs, he_grade=9, ascites="lots", symptoms=None, age_years=48)
    assert fields(exc) == ["labs.neutrophils", "he_grade", "ascites"]


# --- MELD / MELD-Na (calculator extras) -----------------------------------------------------
def meld_float(cr: float, bili: float, inr: float) -> float:
    cr, bili, inr = min(max(cr, 1.0), 4.0), max(bili, 1.0), max(inr, 1.0)
    linear = 0.957 * math.log(cr) + 0.378 * math.log(bili) + 1.120 * math.log(inr) + 0.643
    return round(linear * 10, 1)


def test_meld_minimum_is_6() -> None:
    result = meld.meld(
        creatinine_umol_l=D("50"), total_bilirubin_umol_l=D("5"), inr=D("0.9"), on_dialysis=False
    )
    assert result.score == 6
    assert result.version == meld.MELD_VERSION


def test_meld_and_meld_na_hand_computed() -> None:
    # creatinine 2.0 mg/dL, bilirubin 5.0 mg/dL, INR 2.0, sodium 130 mmol/L
    args = {"creatinine_umol_l": D("176.8"), "total_bilirubin_umol_l": D("85.5"), "inr": D(2)}
    m = meld_float(2.0, 5.0, 2.0)
    assert m == pytest.approx(26.9)
    assert meld.meld(**args, on_dialysis=False).score == 27
    with_na = m + 1.32 * (137 - 130) - 0.033 * m * (137 - 130)
    result = meld.meld_na(**args, sodium_mmol_l=D(130), on_dialysis=False)
    assert result.score == round(with_na) == 30
    assert result.version == meld.MELD_NA_VERSION


def test_meld_dialysis_sets_creatinine_to_4() -> None:
    args = {"total_bilirubin_umol_l": D("85.5"), "inr": D(2)}
    on = meld.meld(creatinine_umol_l=D(80), on_dialysis=True, **args)
    capped = meld.meld(creatinine_umol_l=D(800), on_dialysis=False, **args)
    assert on.score == capped.score == round(meld_float(4.0, 5.0, 2.0))


def test_meld_na_sodium_ignored_when_meld_low_and_bounded() -> None:
    low = {"creatinine_umol_l": D(80), "total_bilirubin_umol_l": D(20), "inr": D("1.1")}
    assert (
        meld.meld_na(**low, sodium_mmol_l=D(120), on_dialysis=False).score
        == meld.meld(**low, on_dialysis=False).score
    )
    high = {"creatinine_umol_l": D("176.8"), "total_bilirubin_umol_l": D("85.5"), "inr": D(2)}
    at_floor = meld.meld_na(**high, sodium_mmol_l=D(125), on_dialysis=False)
    below_floor = meld.meld_na(**high, sodium_mmol_l=D(110), on_dialysis=False)
    assert at_floor == below_floor


def test_meld_capped_at_40() -> None:
    result = meld.meld(
        creatinine_umol_l=D(800), total_bilirubin_umol_l=D(900), inr=D(9), on_dialysis=True
    )
    assert result.score == 40


def test_meld_invalid_inputs_named() -> None:
    with pytest.raises(InvalidData) as exc:
        meld.meld(
            creatinine_umol_l=D(0), total_bilirubin_umol_l=D(-1), inr=D("NaN"), on_dialysis=False
        )
    assert fields(exc) == ["labs.creatinine", "labs.total_bilirubin", "labs.inr"]
    with pytest.raises(InvalidData) as exc:
        meld.meld_na(
            creatinine_umol_l=D(80),
            total_bilirubin_umol_l=D(20),
            inr=D(1),
            sodium_mmol_l=D(0),
            on_dialysis=False,
        )
    assert fields(exc) == ["labs.sodium"]
