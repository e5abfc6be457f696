"""Vocabulary shared by the dosing and visit rules: participant states and deviation findings.

A *finding* is an off-protocol but real event (a dose outside its window, a short infusion, a
visit outside its window, ...). The domain refuses it unless the request carries a
`deviation_reason`; with a reason the service records the event and one protocol deviation
per finding, linked to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.domain.errors import FieldError, InvalidData
from app.domain.protocol import Window

# Participant states (SPEC §2.2) before randomization: no arm, no Day 1.
NOT_RANDOMIZED_STATUSES: frozenset[str] = frozenset({"screening", "screen_failed", "eligible"})

DEVIATION_REASON_FIELD = "deviation_reason"


@dataclass(frozen=True, slots=True)
class TerminalEvent:
    """What ended a participant's treatment, and when: an outcome (`death`,
    `liver_transplant`, `treatment_abandoned`, `withdrawn`, `lost_to_follow_up`) or the
    Day 84 visit (`completed`). Records dated up to it may still be entered late."""

    kind: str
    on: date

    @property
    def label(self) -> str:
        return self.kind.replace("_", " ")


@dataclass(frozen=True, slots=True)
class DeviationFinding:
    """One protocol rule an otherwise valid record breaks.

    `kind` is a stable code for clients and reports (`dose_out_of_window`, `short_infusion`,
    `wrong_particle_count`, `wrong_volume`, `short_dose_interval`, `visit_out_of_window`);
    `rule` states the rule in words; `detail` says what the record did instead.
    """

    kind: str
    rule: str
    detail: str


def has_reason(reason: str | None) -> bool:
    """A reason counts only when it says something (blank text is no reason)."""
    return reason is not None and reason.strip() != ""


def require_reason(findings: Sequence[DeviationFinding], reason: str | None) -> None:
    """Refuse off-protocol data unless the caller explains it (SPEC §2.4, §2.5)."""
    if not findings or has_reason(reason):
        return
    raise InvalidData(
        [
            FieldError(
                DEVIATION_REASON_FIELD,
                f"{f.rule}; {f.detail}. A deviation_reason is required to record it "
                "as a protocol deviation.",
            )
            for f in findings
        ]
    )


def window_text(window: Window) -> str:
    """A window in words for messages, e.g. 'Day 4 (Days 3 to 5)' or 'Day 1 only'."""
    if window.first_day == window.last_day:
        return f"Day {window.target_day} only"
    return f"Day {window.target_day} (Days {window.first_day} to {window.last_day})"


# The participant status each recorded outcome moves to (SPEC §2.2).
STATUS_AFTER_OUTCOME: dict[str, str] = {
    "death": "died",
    "liver_transplant": "liver_transplant",
    "treatment_abandoned": "treatment_abandoned",
    "withdrawn": "withdrawn",
    "lost_to_follow_up": "lost_to_follow_up",
}
