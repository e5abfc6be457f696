"""The safety analysis (SPEC §2.6): treatment-emergent events over the safety set.

- Treatment-emergent: the event's onset is on or after Day 1 and, in the exosome arm, on or
  after the date of the first dose actually given. Dates are compared, not times: an event
  with onset on the date of the first dose counts as treatment-emergent (a conservative
  choice; the onset time is not recorded). A participant never randomized has no
  treatment-emergent event.
- Safety set: every randomized control participant (they receive standard treatment from
  Day 1) and every exosome participant with at least one dose given. An exosome participant
  never dosed is outside it, as are their events.
- Counted per arm over the safety set: treatment-emergent events - any, serious, grade >= 3,
  related to the study drug (possible, probable, definite).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain import protocol
from app.domain.adverse_events import RELATED

_CONTROL_ARM, EXPOSED_ARM = protocol.ARMS
SEVERE_FROM_GRADE = 3  # CTCAE grade 3 or higher: severe or worse


@dataclass(frozen=True, slots=True)
class Exposure:
    """What decides a participant's place in the safety analysis."""

    arm: str | None  # None: not randomized
    day1: date | None
    first_dose_date: date | None  # the site-local date of the first dose given


def is_treatment_emergent(onset_date: date, exposure: Exposure) -> bool:
    if exposure.arm is None or exposure.day1 is None or onset_date < exposure.day1:
        return False
    if exposure.arm != EXPOSED_ARM:
        return True
    return exposure.first_dose_date is not None and onset_date >= exposure.first_dose_date


def in_safety_set(exposure: Exposure) -> bool:
    if exposure.arm is None:
        return False
    return exposure.arm != EXPOSED_ARM or exposure.first_dose_date is not None


def is_severe(ctcae_grade: int) -> bool:
    return ctcae_grade >= SEVERE_FROM_GRADE


def is_related(relatedness: str) -> bool:
    return relatedness in RELATED
