"""Laboratory results as records (SPEC §7): the rules of a result and of "labs of the day".

A result is dated by its collection time. Typed in with a screening or visit, its collection
time is that date at 00:00 in the site's time zone (the assessment records a date, not a time).
A screening or visit sent without `labs` takes, for each analyte the scores need, the latest
non-voided result collected on its date (the site-local date of `collected_at`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.domain.errors import FieldError

SOURCES: tuple[str, ...] = ("api", "visit", "screening", "fhir")
# Entered directly: one result per analyte and collection time (a duplicate is a 409);
# only these are corrected or voided on their own (the others through their screening/visit).
DIRECT_SOURCES = frozenset({"api", "fhir"})

# What the scores and eligibility read (COSSH-ACLF II, Child-Pugh; PTA for the ACLF rule).
VISIT_ANALYTES: tuple[str, ...] = (
    "inr",
    "neutrophils",
    "total_bilirubin",
    "urea",
    "urea_nitrogen",
    "albumin",
)
SCREENING_ANALYTES: tuple[str, ...] = (*VISIT_ANALYTES, "pta")
# Screening cannot decide without these (COSSH-ACLF II); urea may come from urea_nitrogen.
SCREENING_REQUIRED: tuple[str, ...] = ("inr", "neutrophils", "total_bilirubin", "urea")


@dataclass(frozen=True, slots=True)
class ResultView:
    """What "labs of the day" needs to know about one stored result."""

    id: uuid.UUID
    analyte: str
    collected_at: datetime
    created_at: datetime


def assessment_collected_at(day: date, zone: ZoneInfo) -> datetime:
    """Labs typed with a screening or visit: that date at 00:00 site time."""
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def collection_problems(
    collected_at: datetime, *, now: datetime, death_date: date | None, zone: ZoneInfo
) -> list[FieldError]:
    """Not in the future; not after a recorded death (SPEC §2.2)."""
    errors: list[FieldError] = []
    if collected_at > now:
        errors.append(FieldError("collected_at", "must not be in the future"))
    local_day = collected_at.astimezone(zone).date()
    if death_date is not None and local_day > death_date:
        errors.append(
            FieldError("collected_at", f"is after the recorded death ({death_date.isoformat()})")
        )
    return errors


def reference_problems(reference_high: Decimal | None) -> list[FieldError]:
    """A ULN must be a positive number (it is in the entered unit)."""
    if reference_high is None:
        return []
    if not reference_high.is_finite() or reference_high <= 0:
        return [FieldError("reference_range_high", "must be a finite number > 0")]
    return []


def latest_of_day(
    results: Iterable[ResultView], day: date, zone: ZoneInfo, analytes: Iterable[str]
) -> dict[str, ResultView]:
    """Per analyte wanted, the latest result collected on `day` (site-local); ties: newest entry."""
    wanted = set(analytes)
    best: dict[str, ResultView] = {}
    for result in results:
        if result.analyte not in wanted or result.collected_at.astimezone(zone).date() != day:
            continue
        current = best.get(result.analyte)
        if current is None or _order(result) > _order(current):
            best[result.analyte] = result
    return best


def _order(result: ResultView) -> tuple[datetime, datetime, str]:
    return (result.collected_at, result.created_at, str(result.id))


def missing_for_screening(found: Iterable[str]) -> list[FieldError]:
    """Each analyte COSSH-ACLF II needs that no result of the day gives, named `labs.<key>`."""
    have = set(found)
    if "urea_nitrogen" in have:
        have.add("urea")
    return [
        FieldError(
            f"labs.{key}",
            "no result collected on the assessment date"
            + (" (urea or urea_nitrogen)" if key == "urea" else ""),
        )
        for key in SCREENING_REQUIRED
        if key not in have
    ]
