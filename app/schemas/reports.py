"""Trial reports: endpoints (SPEC §1, §6), CONSORT flow, safety summary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from pydantic import Field

from app.schemas.common import OutputModel
from app.schemas.locks import DataLockOut

DATA_LOCK = "whether the data were locked for the final analysis (study lock), and when"


class _ByArm(OutputModel):
    """The two arms as named fields (a typed client sees `control` and `exosome`)."""

    def items(self) -> Iterator[tuple[str, Any]]:
        yield from ((arm, getattr(self, arm)) for arm in ("control", "exosome"))


class EstimateOut(OutputModel):
    estimate: float | None = Field(description="0-1; null when not estimable")
    ci_low: float | None = Field(description="lower 95% bound; null when undefined")
    ci_high: float | None = Field(description="upper 95% bound; null when undefined")


class ChangeSummaryOut(OutputModel):
    visit_day: int
    n: int
    mean: float | None
    sd: float | None = Field(description="sample SD (ddof 1); null for n < 2")


class ArmEndpointsOut(OutputModel):
    randomized: int
    deaths: int
    survival_4w: EstimateOut = Field(description="Kaplan-Meier S(28), log-log 95% CI")
    survival_12w: EstimateOut = Field(description="Kaplan-Meier S(84), log-log 95% CI")
    adverse_outcome_4w: EstimateOut = Field(description="proportion, Wilson 95% CI")
    adverse_outcome_12w: EstimateOut = Field(description="proportion, Wilson 95% CI")
    change_from_baseline: dict[str, list[ChangeSummaryOut]] = Field(
        description="per score (cossh_aclf_ii, child_pugh, symptom_score), per visit day"
    )


class EndpointArmsOut(_ByArm):
    control: ArmEndpointsOut
    exosome: ArmEndpointsOut


class EndpointsReportOut(OutputModel):
    as_of: date
    arms: EndpointArmsOut
    logrank_p: float | None = Field(description="two-sided log-rank, control vs exosome")
    adverse_outcome_4w_p: float | None = Field(
        description="two-sided Fisher exact p, adverse outcome by week 4, control vs exosome"
    )
    adverse_outcome_12w_p: float | None = Field(
        description="two-sided Fisher exact p, adverse outcome by week 12, control vs exosome"
    )
    labs: dict[str, dict[str, list[ChangeSummaryOut]]] = Field(
        description="the biochemical endpoint: {analyte: {arm: [{visit_day, n, mean, sd}]}}, "
        "change from baseline in the analyte's canonical unit"
    )
    methods: dict[str, str]
    data_lock: DataLockOut = Field(description=DATA_LOCK)


class ScreenFailuresOut(OutputModel):
    participants: int
    by_reason: dict[str, int] = Field(
        description="participants per failed criterion code (one participant may fail several)"
    )


class ExcludedOut(OutputModel):
    total: int
    screen_failed: ScreenFailuresOut
    eligible_not_randomized: int = Field(
        description="eligible, not (yet) randomized: no consent, declined, or pending"
    )


class DiscontinuedOut(OutputModel):
    total: int
    withdrawn: int
    treatment_abandoned: int


class ConsortArmOut(OutputModel):
    allocated: int
    received_allocated_intervention: int
    did_not_receive_allocated_intervention: int
    lost_to_follow_up: int
    discontinued: DiscontinuedOut
    liver_transplant: int
    died: int
    completed: int
    analysed: int
    excluded_from_analysis: int


class ConsortArmsOut(_ByArm):
    control: ConsortArmOut
    exosome: ConsortArmOut


class ConsortOut(OutputModel):
    assessed_for_eligibility: int
    excluded: ExcludedOut
    randomized: int
    arms: ConsortArmsOut
    definitions: dict[str, str]
    data_lock: DataLockOut = Field(description=DATA_LOCK)


class SafetyGroupOut(OutputModel):
    participants: int = Field(
        description="arms: the arm's safety set (control: randomized; exosome: dosed); "
        "not_randomized: participants with an event"
    )
    participants_with_ae: int
    participants_with_sae: int
    events: int = Field(description="arms: treatment-emergent events only")
    serious_events: int
    grade_3_or_higher_events: int = Field(description="CTCAE v5 grade 3, 4 or 5")
    related_events: int = Field(description="related to the study drug: possible or more")
    events_by_grade: dict[str, int] = Field(description="CTCAE v5 grade 1-5")
    susars: int
    fatal_events: int
    deaths: int = Field(description="participants with a recorded death outcome")


class SafetyExclusionsOut(OutputModel):
    events_not_treatment_emergent: int = Field(
        description="events of safety-set participants with onset before Day 1 or, in the "
        "exosome arm, before the first dose"
    )
    events_outside_safety_set: int = Field(
        description="events of randomized participants outside the safety set"
    )
    exosome_participants_never_dosed: int


class SafetyArmsOut(_ByArm):
    control: SafetyGroupOut
    exosome: SafetyGroupOut


class SafetyReportOut(OutputModel):
    arms: SafetyArmsOut = Field(description="treatment-emergent events over each arm's safety set")
    excluded: SafetyExclusionsOut
    not_randomized: SafetyGroupOut = Field(
        description="events of participants never randomized (screening period)"
    )
    definitions: dict[str, str]
    data_lock: DataLockOut = Field(description=DATA_LOCK)
