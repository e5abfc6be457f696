"""The biochemical secondary endpoint (SPEC §7): each analyte's change from baseline.

For one randomized participant and one analyte, in canonical units:
- baseline = the latest result collected on or before the randomization date (Day 1) and no
  earlier than `protocol.SCREENING_VALID_DAYS` days before it (the screening window);
- at each protocol visit day = the latest result collected inside that visit's window
  (`protocol.VISIT_WINDOWS`, study days of the site-local collection date);
- change = visit value - baseline value; none without both.
"Latest" is by collection time. Results collected after a liver transplant or a treatment
abandonment are left out (see `endpoints.ENDS_CHANGE_FROM_BASELINE`): a new liver's values, or
those of a participant off treatment, do not measure the treatment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from app.domain import protocol
from app.domain.study_days import study_day


@dataclass(frozen=True, slots=True)
class LabPoint:
    """One non-voided result: its analyte, site-local collection date and time, value."""

    analyte: str
    on: date
    collected_at: datetime
    value: Decimal


def lab_changes(
    day1: date, points: Iterable[LabPoint], ended_on: date | None = None
) -> dict[str, dict[int, Decimal]]:
    """{analyte: {visit day: change from baseline}} for one participant."""
    usable = [p for p in points if ended_on is None or p.on <= ended_on]
    first_baseline_day = day1 - timedelta(days=protocol.SCREENING_VALID_DAYS)
    changes: dict[str, dict[int, Decimal]] = {}
    for analyte in sorted({p.analyte for p in usable}):
        mine = [p for p in usable if p.analyte == analyte]
        baseline = _latest(p for p in mine if first_baseline_day <= p.on <= day1)
        if baseline is None:
            continue
        for visit_day, window in protocol.VISIT_WINDOWS.items():
            seen = _latest(p for p in mine if window.contains(study_day(day1, p.on)))
            if seen is not None:
                changes.setdefault(analyte, {})[visit_day] = seen.value - baseline.value
    return changes


def _latest(points: Iterable[LabPoint]) -> LabPoint | None:
    return max(points, key=lambda p: p.collected_at, default=None)
