"""Ready to randomize (SPEC §2.1, amended): what must hold on Day 1, besides eligibility.

Randomization is refused (409) with every reason at once when:
- the latest screening (the baseline) is not within `protocol.SCREENING_VALID_DAYS` days
  before Day 1;
- the baseline is incomplete: it must hold every input of the three scores whose change from
  baseline is an endpoint - COSSH-ACLF II (INR, neutrophils, total bilirubin, urea or BUN, HE
  grade), Child-Pugh (total bilirubin, albumin, INR, ascites, HE grade) and the symptom score
  (the five items);
- the participant is outside 18-65 in completed years on Day 1 (one who turns 66 between
  screening and randomization is refused);
- no informed consent is recorded, or the latest consent is dated after Day 1.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from app.domain import protocol
from app.domain.eligibility import age_in_completed_years
from app.domain.scores import CHILD_PUGH_LABS, COSSH_LABS


@dataclass(frozen=True, slots=True)
class Baseline:
    """The latest screening as the randomization rules see it."""

    assessment_date: date
    lab_keys: Collection[str]  # canonical keys present (urea derived from BUN counts)
    he_grade: int | None
    ascites: str | None
    has_symptoms: bool


def missing_baseline_inputs(baseline: Baseline) -> list[str]:
    """Each missing input, named like the screening field, with the score that needs it."""
    needs: dict[str, list[str]] = {}
    for lab in COSSH_LABS:
        needs.setdefault(f"labs.{lab}", []).append("COSSH-ACLF II")
    for lab in CHILD_PUGH_LABS:
        needs.setdefault(f"labs.{lab}", []).append("Child-Pugh")
    present = {f"labs.{key}" for key in baseline.lab_keys}
    if baseline.he_grade is not None:
        present.add("he_grade")
    if baseline.ascites is not None:
        present.add("ascites")
    if baseline.has_symptoms:
        present.add("symptoms")
    needs["he_grade"] = ["COSSH-ACLF II", "Child-Pugh"]
    needs["ascites"] = ["Child-Pugh"]
    needs["symptoms"] = ["symptom score"]
    return [
        f"{name} ({', '.join(scores)})" for name, scores in needs.items() if name not in present
    ]


def randomization_refusals(
    *,
    date_of_birth: date,
    day1: date,
    consent_date: date | None,
    baseline: Baseline,
) -> list[str]:
    """Every reason the participant may not be randomized on `day1` (empty: ready)."""
    reasons = []
    waited = (day1 - baseline.assessment_date).days
    if not 0 <= waited <= protocol.SCREENING_VALID_DAYS:
        reasons.append(
            f"The baseline screening of {baseline.assessment_date.isoformat()} is not within "
            f"{protocol.SCREENING_VALID_DAYS} days before randomization; screen again"
        )
    missing = missing_baseline_inputs(baseline)
    if missing:
        reasons.append(
            "The baseline is incomplete (the change from baseline of every score is an "
            f"endpoint): missing {', '.join(missing)}; screen again with them"
        )
    age = age_in_completed_years(date_of_birth, day1)
    if not protocol.AGE_MIN_YEARS <= age <= protocol.AGE_MAX_YEARS:
        reasons.append(
            f"The participant is {age} on Day 1 ({day1.isoformat()}); the protocol enrols "
            f"ages {protocol.AGE_MIN_YEARS} to {protocol.AGE_MAX_YEARS}"
        )
    if consent_date is None:
        reasons.append("Informed consent must be recorded before randomization")
    elif consent_date > day1:
        reasons.append(
            f"Informed consent dated {consent_date.isoformat()} is after Day 1 "
            f"({day1.isoformat()}); consent must be dated on or before Day 1"
        )
    return reasons
