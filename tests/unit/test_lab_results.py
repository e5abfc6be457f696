"""Rules of lab results (SPEC §7) and of standard medical treatment, without a database."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.domain.lab_results import (
    ResultView,
    assessment_collected_at,
    collection_problems,
    latest_of_day,
    missing_for_screening,
    reference_problems,
)
from app.domain.treatments import treatment_problems

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def view(analyte: str, at: datetime, created_minutes: int = 0) -> ResultView:
    return ResultView(uuid.uuid4(), analyte, at, NOW + timedelta(minutes=created_minutes))


def shanghai(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def test_assessment_labs_are_collected_at_site_midnight() -> None:
    at = assessment_collected_at(DAY, SHANGHAI)
    assert at.astimezone(UTC) == datetime(2026, 3, 9, 16, tzinfo=UTC)


def test_latest_of_the_site_local_day_per_analyte() -> None:
    early, late = view("inr", shanghai(DAY, 6)), view("inr", shanghai(DAY, 22))
    next_day_utc_same = view("inr", datetime(2026, 3, 10, 17, tzinfo=UTC))  # 01:00 next day
    bun = view("urea_nitrogen", shanghai(DAY, 7))
    crp = view("crp", shanghai(DAY, 7))
    got = latest_of_day(
        [early, late, next_day_utc_same, bun, crp], DAY, SHANGHAI, ["inr", "urea_nitrogen"]
    )
    assert got == {"inr": late, "urea_nitrogen": bun}


def test_same_collection_time_the_newest_entry_wins() -> None:
    first, second = view("inr", shanghai(DAY, 8)), view("inr", shanghai(DAY, 8), 5)
    assert latest_of_day([second, first], DAY, SHANGHAI, ["inr"])["inr"] is second


def test_missing_screening_inputs_each_named_bun_counts_as_urea() -> None:
    assert [e.field for e in missing_for_screening(["inr"])] == [
        "labs.neutrophils",
        "labs.total_bilirubin",
        "labs.urea",
    ]
    assert missing_for_screening(["inr", "neutrophils", "total_bilirubin", "urea_nitrogen"]) == []


def test_collection_not_in_future_nor_after_death() -> None:
    assert collection_problems(NOW, now=NOW, death_date=None, zone=SHANGHAI) == []
    future = collection_problems(
        NOW + timedelta(seconds=1), now=NOW, death_date=None, zone=SHANGHAI
    )
    assert [e.field for e in future] == ["collected_at"]
    # 20:00 UTC on the 9th is already the 10th in Shanghai: after a death on the 9th
    late = collection_problems(
        datetime(2026, 3, 9, 20, tzinfo=UTC), now=NOW, death_date=date(2026, 3, 9), zone=SHANGHAI
    )
    assert [e.field for e in late] == ["collected_at"]


@pytest.mark.parametrize(("uln", "ok"), [(None, True), (Decimal("40"), True), (Decimal(0), False)])
def test_reference_high_positive(uln: Decimal | None, ok: bool) -> None:
    assert (reference_problems(uln) == []) is ok


def test_treatment_rules() -> None:
    ok = treatment_problems(
        category="antiviral",
        start_date=DAY,
        end_date=None,
        atc_code="J05AF10",
        today=DAY,
        death_date=None,
    )
    assert ok == []
    bad = treatment_problems(
        category="artificial_liver_support",
        start_date=DAY + timedelta(days=1),
        end_date=DAY,
        atc_code="B05",
        today=DAY,
        death_date=DAY - timedelta(days=1),
    )
    assert [e.field for e in bad] == [
        "start_date",
        "start_date",
        "end_date",
        "end_date",
        "atc_code",
    ]
