"""Outcomes (SPEC §2.2): which recorded event may follow which participant status.

- From `randomized`: any outcome; the status becomes the outcome's (death -> `died`).
- A death can always be recorded for a randomized participant whose status is not `died`:
  from `completed` too (a death on Day 80 after an early Day 84 visit on Day 78 counts for the
  12-week endpoint), and after a transplant, an abandonment, a withdrawal or a loss to
  follow-up (survival is still followed; vital status may come from records).
- Nothing else follows a terminal status: the status model holds one terminal state, and the
  adverse-outcome endpoint counts only the first death, abandonment or transplant anyway.

Dates: `lost_to_follow_up`'s date is the date of LAST CONTACT, so, like a death, it may not be
earlier than a recorded sign of life (the service gathers those: visits alive, doses, earlier
outcomes); the endpoints censor at the latest such sign, never at a declaration date.
"""

from __future__ import annotations

from app.domain.deviations import NOT_RANDOMIZED_STATUSES
from app.domain.errors import StateConflict

DEATH = "death"
LOST_TO_FOLLOW_UP = "lost_to_follow_up"
# Outcomes whose date may not precede a recorded sign of life.
DATED_BY_LAST_SIGN_OF_LIFE: frozenset[str] = frozenset({DEATH, LOST_TO_FOLLOW_UP})


def check_transition(status: str, outcome_type: str) -> None:
    """409 unless `outcome_type` may be recorded for a participant in `status`."""
    if status in NOT_RANDOMIZED_STATUSES:
        raise StateConflict(f"An outcome needs a randomized participant (status '{status}')")
    if status == "died":
        raise StateConflict("The participant's death is already recorded; nothing may follow it")
    if outcome_type == DEATH or status == "randomized":
        return
    if status == "completed":
        raise StateConflict(
            "The participant completed follow-up (Day 84); only a death may still be recorded"
        )
    raise StateConflict(f"The participant is '{status}'; only a death may still be recorded")
