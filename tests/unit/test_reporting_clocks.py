"""The sponsor-reporting clocks (SPEC §2.6, amended), without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from app.domain import protocol
from app.domain.adverse_events import AdverseEventInput
from app.domain.errors import InvalidData
from app.domain.reporting_clocks import (
    ClockAnchors,
    ReportStatus,
    deadlines,
    is_overdue,
    report_status,
    serious_awareness,
)
from tests.unit.test_adverse_events import AWARE, FATAL, MILD, SAE

SERIOUS_LATER = AWARE + timedelta(hours=30)
SPONSOR = AWARE + timedelta(hours=12)
AT_AWARENESS = ClockAnchors(AWARE)


def test_sae_report_is_due_24_hours_after_serious_awareness() -> None:
    assert timedelta(hours=24) == protocol.SAE_REPORT_WITHIN
    assert deadlines(SAE, AT_AWARENESS).report_due_at == AWARE + timedelta(hours=24)
    later = deadlines(SAE, ClockAnchors(SERIOUS_LATER))
    assert later.report_due_at == SERIOUS_LATER + timedelta(hours=24)
    assert deadlines(MILD, ClockAnchors(None)).report_due_at is None


def test_susar_clock_is_15_days_when_not_fatal_or_life_threatening() -> None:
    due = deadlines(SAE, AT_AWARENESS)
    assert due.expedited_due_at == AWARE + timedelta(days=15)
    assert due.follow_up_due_at is None


@pytest.mark.parametrize(
    "ae",
    [
        replace(SAE, seriousness_criteria=("life_threatening",)),
        replace(SAE, seriousness_criteria=("hospitalization", "life_threatening")),
        FATAL,
    ],
    ids=["life_threatening", "hospitalization+life_threatening", "fatal"],
)
def test_susar_clock_is_7_days_plus_8_for_the_follow_up_when_fatal_or_life_threatening(
    ae: AdverseEventInput,
) -> None:
    due = deadlines(ae, AT_AWARENESS)
    assert due.expedited_due_at == AWARE + timedelta(days=7)
    assert due.follow_up_due_at == AWARE + timedelta(days=15)


def test_susar_clock_runs_from_the_sponsors_awareness_when_known() -> None:
    due = deadlines(FATAL, ClockAnchors(AWARE, SPONSOR))
    assert due.report_due_at == AWARE + timedelta(hours=24)  # the site's clock is unchanged
    assert due.expedited_due_at == SPONSOR + timedelta(days=7)
    assert due.follow_up_due_at == SPONSOR + timedelta(days=15)


def test_no_expedited_clock_for_a_non_susar() -> None:
    assert deadlines(replace(SAE, expectedness="expected"), AT_AWARENESS).expedited_due_at is None
    assert deadlines(MILD, AT_AWARENESS).expedited_due_at is None


def awareness(**changes: object) -> object:
    args: dict[str, object] = {
        "was_serious": False,
        "previous": None,
        "now_serious": True,
        "aware_at": AWARE,
        "declared": None,
        "now": AWARE + timedelta(days=2),
    }
    return serious_awareness(**{**args, **changes})  # type: ignore[arg-type]


def test_serious_awareness() -> None:
    assert awareness() == AWARE + timedelta(days=2)  # an upgrade, at the time of the upgrade
    assert awareness(declared=SERIOUS_LATER) == SERIOUS_LATER
    assert awareness(was_serious=True) == AWARE  # recorded serious: aware_at
    assert awareness(now_serious=False) is None
    kept = awareness(was_serious=False, previous=SERIOUS_LATER)  # re-upgraded: never restarts
    assert kept == SERIOUS_LATER
    assert awareness(was_serious=True, now_serious=False, previous=AWARE) == AWARE


@pytest.mark.parametrize(
    "changes",
    [
        {"declared": AWARE - timedelta(seconds=1)},
        {"declared": AWARE + timedelta(days=3)},
        {"declared": SERIOUS_LATER, "was_serious": True, "previous": AWARE},
        {"declared": SERIOUS_LATER.replace(tzinfo=None)},
    ],
)
def test_a_declared_serious_awareness_that_cannot_be_right(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidData) as exc:
        awareness(**changes)
    assert exc.value.errors[0].field == "serious_aware_at"


def test_overdue_only_strictly_after_the_due_instant_and_while_unreported() -> None:
    due = AWARE + timedelta(hours=24)
    tick = timedelta(microseconds=1)
    assert not is_overdue(due, None, due)
    assert is_overdue(due, None, due + tick)
    assert not is_overdue(due, due + tick, due + timedelta(days=1))
    assert not is_overdue(None, None, due + timedelta(days=30))


def test_report_status() -> None:
    due = AWARE + timedelta(hours=24)
    later = due + timedelta(hours=1)
    assert report_status(None, None, later) is ReportStatus.NOT_REQUIRED
    assert report_status(due, None, due) is ReportStatus.PENDING
    assert report_status(due, None, later) is ReportStatus.OVERDUE
    assert report_status(due, due, later) is ReportStatus.REPORTED_ON_TIME
    assert report_status(due, later, later) is ReportStatus.REPORTED_LATE
