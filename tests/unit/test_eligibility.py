"""Screening eligibility (SPEC §2.1): every failed criterion is reported."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.domain import eligibility, scores
from app.domain.eligibility import (
    REASON_CODES,
    EligibilityDecision,
    age_in_completed_years,
    assess_eligibility,
)
from app.domain.errors import InvalidData
from app.domain.scores import ChildPughResult, CosshResult, ScoreResult
from app.domain.units import CanonicalLab, Quantity, canonicalize_labs
from app.interop.ucum import UCUM

D = Decimal
SCREEN = date(2025, 3, 10)
DOB_40 = date(1985, 1, 15)


def q(value: str, unit: str) -> Quantity:
    return Quantity(D(value), unit)


# A typical eligible ACLF patient: TBil 20 mg/dL, INR 1.8, COSSH-ACLF II about 6.8.
BASE_LABS = {
    "inr": q("1.8", "1"),
    "neutrophils": q("4.0", "10*9/L"),
    "total_bilirubin": q("20", "mg/dL"),
    "urea": q("4.0", "mmol/L"),
}


def labs(**changes: Quantity | None) -> dict[str, CanonicalLab]:
    entered = {**BASE_LABS, **changes}
    return canonicalize_labs({k: v for k, v in entered.items() if v is not None}, UCUM)


def assess(**overrides: object) -> EligibilityDecision:
    args: dict[str, object] = {
        "date_of_birth": DOB_40,
        "assessment_date": SCREEN,
        "labs": labs(),
        "tbil_uln_umol_l": None,
        "he_grade": 0,
        "ascites": "none",
        "aclf_diagnosis_confirmed": True,
    }
    args.update(overrides)
    return assess_eligibility(**args)  # type: ignore[arg-type]


def codes(decision: EligibilityDecision) -> list[str]:
    return decision.reason_codes


def fields(exc: pytest.ExceptionInfo[InvalidData]) -> list[str]:
    return [e.field for e in exc.value.errors]


# --- age --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dob", "on", "age"),
    [
        (date(2000, 6, 15), date(2018, 6, 14), 17),
        (date(2000, 6, 15), date(2018, 6, 15), 18),
        (date(2000, 6, 15), date(2000, 6, 15), 0),
        (date(2000, 2, 29), date(2018, 2, 28), 17),  # common year: not yet on 28 Feb
        (date(2000, 2, 29), date(2018, 3, 1), 18),  # ... reached on 1 March
        (date(2000, 2, 29), date(2020, 2, 28), 19),
        (date(2000, 2, 29), date(2020, 2, 29), 20),  # leap year: on the day itself
        (date(1999, 12, 31), date(2025, 1, 1), 25),
    ],
)
def test_age_in_completed_years(dob: date, on: date, age: int) -> None:
    assert age_in_completed_years(dob, on) == age


def test_age_before_birth_refused() -> None:
    with pytest.raises(InvalidData) as exc:
        age_in_completed_years(date(2000, 1, 2), date(2000, 1, 1))
    assert fields(exc) == ["date_of_birth"]


def test_eligible_on_18th_birthday_not_the_day_before() -> None:
    dob = date(2007, 3, 10)
    assert assess(date_of_birth=dob).eligible
    day_before = assess(date_of_birth=dob, assessment_date=SCREEN - timedelta(days=1))
    assert not day_before.eligible
    assert codes(day_before) == ["age_below_min"]
    assert day_before.age_years == 17
    assert "17" in day_before.reasons[0]


def test_eligible_day_before_66th_birthday_not_on_it() -> None:
    dob = date(1959, 3, 10)
    on_birthday = assess(date_of_birth=dob)
    assert not on_birthday.eligible
    assert codes(on_birthday) == ["age_above_max"]
    assert on_birthday.age_years == 66
    day_before = assess(date_of_birth=dob, assessment_date=SCREEN - timedelta(days=1))
    assert day_before.eligible
    assert day_before.age_years == 65


def test_feb_29_birthday_turns_18_on_march_1_in_common_year() -> None:
    dob = date(2004, 2, 29)  # 2022 is a common year
    assert not assess(date_of_birth=dob, assessment_date=date(2022, 2, 28)).eligible
    assert assess(date_of_birth=dob, assessment_date=date(2022, 3, 1)).eligible


def test_feb_29_birthday_turns_66_on_march_1_in_common_year() -> None:
    dob = date(1960, 2, 29)  # 2026 is a common year
    assert assess(date_of_birth=dob, assessment_date=date(2026, 2, 28)).eligible
    assert codes(assess(date_of_birth=dob, assessment_date=date(2026, 3, 1))) == ["age_above_max"]


# --- the whole decision -------------------------------------------------------------------
def test_typical_patient_is_eligible_with_scores() -> None:
    decision = assess()
    assert decision.eligible
    assert decision.reasons == []
    assert decision.age_years == 40
    cossh = decision.scores["cossh_aclf_ii"]
    assert isinstance(cossh, CosshResult)
    assert cossh.value < D("7.4")
    assert "child_pugh" not in decision.scores  # no albumin given


def test_child_pugh_computed_when_albumin_present() -> None:
    decision = assess(labs=labs(albumin=q("2.9", "g/dL")), ascites="mild", he_grade=1)
    assert decision.scores["child_pugh"] == ChildPughResult(
        score=3 + 2 + 2 + 2 + 2, child_class="C"
    )


def test_every_failed_criterion_is_reported() -> None:
    decision = assess(
        date_of_birth=date(2010, 1, 1),
        labs=labs(
            inr=q("1.2", "1"),
            pta=q("55", "%"),
            total_bilirubin=q("100", "umol/L"),
            urea=q("60", "mmol/L"),
            neutrophils=q("30", "10*9/L"),
        ),
        he_grade=4,
        aclf_diagnosis_confirmed=False,
    )
    assert not decision.eligible
    assert codes(decision) == [
        "age_below_min",
        "cossh_aclf_ii_not_below_limit",
        "aclf_diagnosis_not_confirmed",
        "aclf_total_bilirubin_below_threshold",
        "aclf_coagulopathy_not_met",
    ]
    assert set(codes(decision)) <= set(REASON_CODES)
    assert all(": " in reason for reason in decision.reasons)


def test_reason_codes_are_stable_constants() -> None:
    assert REASON_CODES == (
        "age_below_min",
        "age_above_max",
        "cossh_aclf_ii_not_below_limit",
        "aclf_diagnosis_not_confirmed",
        "aclf_total_bilirubin_below_threshold",
        "aclf_coagulopathy_not_met",
    )


def test_investigator_must_confirm_diagnosis() -> None:
    decision = assess(aclf_diagnosis_confirmed=False)
    assert codes(decision) == ["aclf_diagnosis_not_confirmed"]


# --- COSSH-ACLF II limit -----------------------------------------------------------------
def test_high_cossh_not_eligible() -> None:
    decision = assess(he_grade=4, labs=labs(urea=q("30", "mmol/L")))
    cossh = decision.scores["cossh_aclf_ii"]
    assert isinstance(cossh, CosshResult)
    assert cossh.value >= D("7.4")
    assert codes(decision) == ["cossh_aclf_ii_not_below_limit"]


def _with_cossh_value(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """Make the computed COSSH-ACLF II an exact value (ln cannot hit 7.4 exactly)."""
    real = scores.compute_scores

    def fake(**kwargs: object) -> dict[str, ScoreResult]:
        result = real(**kwargs)  # type: ignore[arg-type]
        exact = D(value)
        result["cossh_aclf_ii"] = CosshResult(exact, exact.quantize(D("0.001")), "n/a")
        return result

    monkeypatch.setattr(eligibility, "compute_scores", fake)


def test_cossh_exactly_7_4_not_eligible(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_cossh_value(monkeypatch, "7.4")
    decision = assess()
    assert codes(decision) == ["cossh_aclf_ii_not_below_limit"]


def test_cossh_just_below_7_4_eligible_even_if_displayed_7_400(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _with_cossh_value(monkeypatch, "7.39996")
    assert assess().eligible


def test_cossh_uses_age_on_assessment_date() -> None:
    young = assess(date_of_birth=date(2000, 1, 1)).scores["cossh_aclf_ii"]
    old = assess(date_of_birth=date(1970, 1, 1)).scores["cossh_aclf_ii"]
    assert isinstance(young, CosshResult)
    assert isinstance(old, CosshResult)
    assert old.value - young.value == D("0.033") * 30


# --- ACLF laboratory part -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("tbil", "unit", "ok"),
    [
        ("171", "umol/L", True),
        ("170.9999", "umol/L", False),
        ("10", "mg/dL", True),  # 10 mg/dL = 171 umol/L exactly
        ("9.99", "mg/dL", False),
    ],
)
def test_bilirubin_threshold(tbil: str, unit: str, ok: bool) -> None:
    decision = assess(labs=labs(total_bilirubin=q(tbil, unit)))
    assert decision.eligible is ok
    if not ok:
        assert codes(decision) == ["aclf_total_bilirubin_below_threshold"]


@pytest.mark.parametrize(
    ("tbil", "uln", "ok"),
    [
        # either criterion suffices: threshold = min(171, 10 x ULN) (SPEC §2.1, amended)
        ("200", "21", True),  # the review's case: 10 x 21 = 210, but 200 >= 171
        ("171", "20", True),
        ("170.9999", "20", False),
        ("160", "16", True),  # 10 x ULN below 171 lowers the threshold
        ("159.9999", "16", False),
    ],
)
def test_bilirubin_threshold_with_uln(tbil: str, uln: str, ok: bool) -> None:
    decision = assess(labs=labs(total_bilirubin=q(tbil, "umol/L")), tbil_uln_umol_l=D(uln))
    assert decision.eligible is ok


def test_low_uln_lowers_threshold() -> None:
    decision = assess(labs=labs(total_bilirubin=q("150", "umol/L")), tbil_uln_umol_l=D("15"))
    assert decision.eligible


@pytest.mark.parametrize(
    ("inr", "pta", "ok"),
    [
        ("1.5", None, True),
        ("1.4999", None, False),
        ("1.2", "40", True),
        ("1.2", "40.0001", False),
        ("1.2", "25", True),
        ("2.0", "80", True),
    ],
)
def test_coagulopathy_inr_or_pta(inr: str, pta: str | None, ok: bool) -> None:
    pta_q = q(pta, "%") if pta is not None else None
    decision = assess(labs=labs(inr=q(inr, "1"), pta=pta_q))
    assert decision.eligible is ok
    if not ok:
        assert codes(decision) == ["aclf_coagulopathy_not_met"]


# --- inputs that make a decision impossible -----------------------------------------------
def test_missing_cossh_labs_each_named() -> None:
    bare = labs(inr=None, neutrophils=None, total_bilirubin=None, urea=None)
    with pytest.raises(InvalidData) as exc:
        assess(labs=bare)
    assert fields(exc) == ["labs.inr", "labs.neutrophils", "labs.total_bilirubin", "labs.urea"]


def test_bun_satisfies_urea_requirement() -> None:
    decision = assess(labs=labs(urea=None, urea_nitrogen=q("11.2", "mg/dL")))
    assert decision.eligible


def test_bad_inputs_each_named() -> None:
    with pytest.raises(InvalidData) as exc:
        assess(
            labs=labs(neutrophils=None),
            date_of_birth=SCREEN + timedelta(days=1),
            tbil_uln_umol_l=D(0),
            ascites="some",
        )
    assert fields(exc) == [
        "labs.neutrophils",
        "date_of_birth",
        "labs.total_bilirubin.uln",
        "ascites",
    ]


def test_nonpositive_log_input_named() -> None:
    with pytest.raises(InvalidData) as exc:
        assess(labs=labs(neutrophils=q("0", "10*9/L")))
    assert fields(exc) == ["labs.neutrophils"]


@pytest.mark.parametrize("he", [-1, 5])
def test_he_grade_out_of_range(he: int) -> None:
    with pytest.raises(InvalidData) as exc:
        assess(he_grade=he)
    assert fields(exc) == ["he_grade"]
