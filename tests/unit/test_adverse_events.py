"""Adverse-event consistency rules and SUSAR classification (SPEC §2.6), without a database."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from app.domain.adverse_events import (
    ACTIONS_TAKEN,
    AE_OUTCOMES,
    EXPECTEDNESS,
    RELATEDNESS,
    SERIOUSNESS_CRITERIA,
    AdverseEventInput,
    check_death_recorded,
    is_susar,
    requires_death_outcome,
    validate_adverse_event,
)
from app.domain.errors import InvalidData, StateConflict

DAY1 = date(2024, 3, 1)
TODAY = date(2024, 3, 10)
AWARE = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)

MILD = AdverseEventInput(
    term="Rash",
    onset_date=date(2024, 3, 5),
    ctcae_grade=2,
    serious=False,
    seriousness_criteria=(),
    relatedness="not_related",
    expectedness="expected",
    outcome="recovering",
    aware_at=AWARE,
)
SAE = replace(
    MILD,
    ctcae_grade=3,
    serious=True,
    seriousness_criteria=("hospitalization",),
    relatedness="possible",
    expectedness="unexpected",
)
FATAL = replace(SAE, ctcae_grade=5, seriousness_criteria=("death",), outcome="fatal")

EXOSOME: dict[str, Any] = {
    "arm": "exosome",
    "day1": DAY1,
    "death_date": None,
    "today": TODAY,
    "participant_status": "randomized",
    "first_dose_date": DAY1,
}
CONTROL: dict[str, Any] = {**EXOSOME, "arm": "control", "first_dose_date": None}
NOT_RANDOMIZED: dict[str, Any] = {
    **EXOSOME,
    "arm": None,
    "day1": None,
    "participant_status": "eligible",
    "first_dose_date": None,
}


def errors_of(ae: AdverseEventInput, **context: Any) -> dict[str, str]:
    """The refused fields and their messages; {} when the event is accepted."""
    try:
        validate_adverse_event(ae, **{**EXOSOME, **context})
    except InvalidData as exc:
        fields = [e.field for e in exc.errors]
        assert len(fields) == len(set(fields)), "one error per field"
        return {e.field: e.message for e in exc.errors}
    return {}


# --- vocabulary -------------------------------------------------------------------------------


def test_code_lists_match_the_spec() -> None:
    assert SERIOUSNESS_CRITERIA == (
        "death",
        "life_threatening",
        "hospitalization",
        "disability",
        "congenital_anomaly",
        "important_medical_event",
    )
    assert RELATEDNESS == ("not_related", "unlikely", "possible", "probable", "definite")
    assert EXPECTEDNESS == ("expected", "unexpected")
    assert AE_OUTCOMES == (
        "recovered",
        "recovering",
        "not_recovered",
        "recovered_with_sequelae",
        "fatal",
        "unknown",
    )
    assert "none" in ACTIONS_TAKEN
    assert "not_applicable" in ACTIONS_TAKEN


@pytest.mark.parametrize("ae", [MILD, SAE], ids=["mild", "sae"])
def test_consistent_events_are_accepted(ae: AdverseEventInput) -> None:
    assert errors_of(ae) == {}


def test_consistent_fatal_event_is_accepted() -> None:
    assert errors_of(FATAL, death_date=date(2024, 3, 6)) == {}


@pytest.mark.parametrize("grade", [0, 6, -1])
def test_grade_outside_1_to_5_is_refused(grade: int) -> None:
    assert set(errors_of(replace(MILD, ctcae_grade=grade))) == {"ctcae_grade"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"relatedness": "maybe"}, "relatedness"),
        ({"expectedness": "listed"}, "expectedness"),
        ({"outcome": "resolved"}, "outcome"),
        ({"action_taken": "reduced"}, "action_taken"),
        ({"term": "  "}, "term"),
        ({"meddra_pt_code": "1002"}, "meddra_pt_code"),
        ({"meddra_pt_code": "1000123x"}, "meddra_pt_code"),
    ],
)
def test_unknown_codes_and_blank_term_are_refused(change: dict[str, Any], field: str) -> None:
    assert set(errors_of(replace(MILD, **change))) == {field}


def test_valid_meddra_code_and_action_are_accepted() -> None:
    assert errors_of(replace(MILD, meddra_pt_code="10037844", action_taken="interrupted")) == {}


def test_unknown_and_repeated_criteria_are_refused() -> None:
    ae = replace(SAE, seriousness_criteria=("hospitalization", "hospitalization", "scary"))
    message = errors_of(ae)["seriousness_criteria"]
    assert "scary" in message
    assert "twice" in message


# --- seriousness ⇔ criteria -------------------------------------------------------------------


def test_serious_without_a_criterion_is_refused() -> None:
    assert set(errors_of(replace(SAE, seriousness_criteria=()))) == {"seriousness_criteria"}


def test_a_criterion_on_a_non_serious_event_is_refused() -> None:
    assert set(errors_of(replace(SAE, serious=False))) == {"serious"}


# --- grade 5 ⇔ fatal ⇔ death criterion --------------------------------------------------------


def test_grade_5_requires_fatal_outcome_death_criterion_and_serious() -> None:
    ae = replace(MILD, ctcae_grade=5)
    assert set(errors_of(ae)) == {"outcome", "seriousness_criteria", "serious"}


def test_fatal_outcome_requires_grade_5() -> None:
    ae = replace(FATAL, ctcae_grade=4)
    assert set(errors_of(ae, death_date=date(2024, 3, 6))) == {"ctcae_grade"}


def test_fatal_outcome_requires_the_death_criterion() -> None:
    ae = replace(FATAL, seriousness_criteria=("life_threatening",))
    assert set(errors_of(ae, death_date=date(2024, 3, 6))) == {"seriousness_criteria"}


def test_death_criterion_requires_grade_5_and_fatal_outcome() -> None:
    ae = replace(FATAL, ctcae_grade=4, outcome="not_recovered")
    assert set(errors_of(ae)) == {"ctcae_grade", "outcome"}


def test_fatal_non_serious_event_names_serious_once_with_both_rules() -> None:
    ae = replace(FATAL, serious=False)
    message = errors_of(ae, death_date=date(2024, 3, 6))["serious"]
    assert "seriousness criterion" in message
    assert "fatal" in message


def test_fatal_outcome_alone_names_every_missing_part() -> None:
    ae = replace(MILD, outcome="fatal")
    assert set(errors_of(ae)) == {"ctcae_grade", "seriousness_criteria", "serious"}


# --- dates ------------------------------------------------------------------------------------


def test_end_before_onset_is_refused_and_same_day_is_accepted() -> None:
    assert set(errors_of(replace(MILD, end_date=date(2024, 3, 4)))) == {"end_date"}
    assert errors_of(replace(MILD, end_date=MILD.onset_date)) == {}


def test_onset_in_the_future_is_refused_and_today_is_accepted() -> None:
    ae = replace(MILD, onset_date=TODAY, aware_at=datetime(2024, 3, 10, 1, tzinfo=UTC))
    assert errors_of(ae) == {}
    assert "onset_date" in errors_of(replace(ae, onset_date=TODAY + timedelta(days=1)))


def test_end_in_the_future_is_refused() -> None:
    assert set(errors_of(replace(MILD, end_date=TODAY + timedelta(days=1)))) == {"end_date"}


def test_onset_after_recorded_death_is_refused_and_on_the_death_date_accepted() -> None:
    death = date(2024, 3, 4)
    assert set(errors_of(MILD, death_date=death)) == {"onset_date"}
    assert errors_of(MILD, death_date=MILD.onset_date) == {}


def test_end_after_recorded_death_is_refused() -> None:
    ae = replace(MILD, end_date=date(2024, 3, 8))
    assert set(errors_of(ae, death_date=date(2024, 3, 7))) == {"end_date"}


def test_aware_at_before_the_onset_date_anywhere_is_refused() -> None:
    # Onset 2024-03-05 begins first at UTC+14, i.e. 2024-03-04T10:00Z.
    assert errors_of(replace(MILD, aware_at=datetime(2024, 3, 4, 10, 0, tzinfo=UTC))) == {}
    early = replace(MILD, aware_at=datetime(2024, 3, 4, 9, 59, tzinfo=UTC))
    assert set(errors_of(early)) == {"aware_at"}


def test_aware_at_given_in_local_time_on_the_onset_date_is_accepted() -> None:
    guangzhou = timezone(timedelta(hours=8))
    ae = replace(MILD, aware_at=datetime(2024, 3, 5, 0, 30, tzinfo=guangzhou))
    assert errors_of(ae) == {}


def test_aware_at_after_today_anywhere_is_refused() -> None:
    # Today 2024-03-10 ends last at UTC-12, i.e. 2024-03-11T12:00Z.
    assert errors_of(replace(MILD, aware_at=datetime(2024, 3, 11, 11, 59, tzinfo=UTC))) == {}
    late = replace(MILD, aware_at=datetime(2024, 3, 11, 12, 0, tzinfo=UTC))
    assert set(errors_of(late)) == {"aware_at"}


def test_aware_at_without_offset_is_refused() -> None:
    assert set(errors_of(replace(MILD, aware_at=datetime(2024, 3, 5, 10)))) == {"aware_at"}


# --- exposure to study drug -------------------------------------------------------------------


@pytest.mark.parametrize("relatedness", ["unlikely", "possible", "probable", "definite"])
@pytest.mark.parametrize("context", [CONTROL, NOT_RANDOMIZED], ids=["control", "not_randomized"])
def test_relatedness_without_study_drug_is_refused(
    relatedness: str, context: dict[str, Any]
) -> None:
    assert set(errors_of(replace(SAE, relatedness=relatedness), **context)) == {"relatedness"}


@pytest.mark.parametrize("context", [CONTROL, NOT_RANDOMIZED], ids=["control", "not_randomized"])
def test_not_related_is_accepted_without_study_drug(context: dict[str, Any]) -> None:
    assert errors_of(replace(SAE, relatedness="not_related"), **context) == {}


def test_relatedness_in_exosome_arm_without_any_dose_is_refused() -> None:
    assert set(errors_of(SAE, first_dose_date=None)) == {"relatedness"}


def test_relatedness_before_the_first_dose_is_refused_and_after_accepted() -> None:
    assert set(errors_of(SAE, first_dose_date=date(2024, 3, 6))) == {"relatedness"}
    assert errors_of(SAE, first_dose_date=SAE.onset_date) == {}


@pytest.mark.parametrize("action", ["interrupted", "dose_not_given", "withdrawn"])
def test_drug_action_without_study_drug_is_refused(action: str) -> None:
    assert set(errors_of(replace(MILD, action_taken=action), **CONTROL)) == {"action_taken"}
    assert errors_of(replace(MILD, action_taken=action)) == {}


@pytest.mark.parametrize("action", ["none", "not_applicable"])
def test_no_drug_action_is_accepted_in_control_arm(action: str) -> None:
    assert errors_of(replace(MILD, action_taken=action), **CONTROL) == {}


def test_dose_link_only_in_exosome_arm() -> None:
    linked = replace(MILD, dose_id=uuid.uuid4())
    assert errors_of(linked) == {}
    assert set(errors_of(linked, **CONTROL)) == {"dose_id"}
    assert set(errors_of(linked, **NOT_RANDOMIZED)) == {"dose_id"}


def test_every_broken_rule_is_reported_at_once() -> None:
    ae = replace(
        SAE,
        ctcae_grade=5,
        seriousness_criteria=(),
        end_date=date(2024, 3, 1),
        aware_at=datetime(2024, 3, 1, tzinfo=UTC),
        dose_id=uuid.uuid4(),
    )
    assert set(errors_of(ae, **CONTROL)) == {
        "seriousness_criteria",
        "outcome",
        "end_date",
        "aware_at",
        "relatedness",
        "dose_id",
    }


# --- grade 5 needs a recorded death (409) -----------------------------------------------------


def test_requires_death_outcome_for_any_fatal_sign() -> None:
    assert requires_death_outcome(FATAL)
    assert requires_death_outcome(replace(SAE, ctcae_grade=5))
    assert requires_death_outcome(replace(SAE, outcome="fatal"))
    assert requires_death_outcome(replace(SAE, seriousness_criteria=("death",)))
    assert not requires_death_outcome(SAE)


def test_fatal_event_without_recorded_death_is_a_conflict() -> None:
    with pytest.raises(StateConflict):
        check_death_recorded(FATAL, None)
    check_death_recorded(FATAL, date(2024, 3, 6))
    check_death_recorded(SAE, None)


# --- SUSAR ------------------------------------------------------------------------------------


def test_susar_needs_serious_related_and_unexpected() -> None:
    assert is_susar(SAE)
    for relatedness in ("possible", "probable", "definite"):
        assert is_susar(replace(SAE, relatedness=relatedness))


@pytest.mark.parametrize(
    "change",
    [
        {"serious": False, "seriousness_criteria": ()},
        {"relatedness": "unlikely"},
        {"relatedness": "not_related"},
        {"expectedness": "expected"},
    ],
)
def test_not_a_susar_without_each_ingredient(change: dict[str, Any]) -> None:
    assert not is_susar(replace(SAE, **change))
