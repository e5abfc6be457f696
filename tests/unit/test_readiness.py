"""Ready to randomize (SPEC §2.1, amended): complete baseline, age and consent on Day 1."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from app.domain.readiness import Baseline, missing_baseline_inputs, randomization_refusals

DAY1 = date(2024, 3, 10)
COMPLETE = Baseline(
    assessment_date=DAY1 - timedelta(days=2),
    lab_keys=frozenset({"inr", "neutrophils", "total_bilirubin", "urea", "albumin"}),
    he_grade=1,
    ascites="mild",
    has_symptoms=True,
)


def refusals(baseline: Baseline = COMPLETE, **changes: object) -> list[str]:
    args: dict[str, object] = {
        "date_of_birth": date(1970, 5, 1),
        "day1": DAY1,
        "consent_date": DAY1 - timedelta(days=1),
        "baseline": baseline,
    }
    return randomization_refusals(**{**args, **changes})  # type: ignore[arg-type]


def test_a_complete_baseline_is_ready() -> None:
    assert refusals() == []
    assert refusals(consent_date=DAY1) == []  # consent on Day 1 itself


def test_missing_inputs_name_the_field_and_the_score() -> None:
    without = replace(COMPLETE, lab_keys=COMPLETE.lab_keys - {"albumin"}, has_symptoms=False)
    assert missing_baseline_inputs(without) == [
        "labs.albumin (Child-Pugh)",
        "symptoms (symptom score)",
    ]
    assert "labs.albumin (Child-Pugh)" in refusals(without)[0]


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"date_of_birth": date(1958, 3, 10)}, "66 on Day 1"),  # turns 66 on Day 1
        ({"date_of_birth": date(2006, 3, 11)}, "17 on Day 1"),
        ({"consent_date": None}, "Informed consent must be recorded"),
        ({"consent_date": DAY1 + timedelta(days=1)}, "after Day 1"),
    ],
)
def test_refusals(changes: dict[str, object], text: str) -> None:
    reasons = refusals(**changes)
    assert len(reasons) == 1
    assert text in reasons[0]


def test_baseline_window() -> None:
    old = replace(COMPLETE, assessment_date=DAY1 - timedelta(days=8))
    assert "not within 7 days" in refusals(old)[0]
    assert refusals(replace(COMPLETE, assessment_date=DAY1 - timedelta(days=7))) == []
