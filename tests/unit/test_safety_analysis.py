"""Treatment-emergent events and the safety set (SPEC §2.6, amended)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain.safety_analysis import (
    Exposure,
    in_safety_set,
    is_related,
    is_severe,
    is_treatment_emergent,
)

DAY1 = date(2024, 3, 1)
DOSED = Exposure("exosome", DAY1, DAY1 + timedelta(days=1))


@pytest.mark.parametrize(
    ("exposure", "onset_day", "emergent"),
    [
        (Exposure("control", DAY1, None), 0, True),  # control: from Day 1
        (Exposure("control", DAY1, None), -1, False),  # before randomization
        (DOSED, 0, False),  # exosome: before the first dose
        (DOSED, 1, True),  # on the date of the first dose (dates, not times)
        (Exposure("exosome", DAY1, None), 5, False),  # never dosed
        (Exposure(None, None, None), 5, False),  # never randomized
    ],
)
def test_treatment_emergent(exposure: Exposure, onset_day: int, emergent: bool) -> None:
    assert is_treatment_emergent(DAY1 + timedelta(days=onset_day), exposure) is emergent


def test_safety_set() -> None:
    assert in_safety_set(Exposure("control", DAY1, None))
    assert in_safety_set(DOSED)
    assert not in_safety_set(Exposure("exosome", DAY1, None))
    assert not in_safety_set(Exposure(None, None, None))


def test_severity_and_relatedness() -> None:
    assert [is_severe(g) for g in (1, 2, 3, 5)] == [False, False, True, True]
    assert [is_related(r) for r in ("unlikely", "possible", "definite")] == [False, True, True]
