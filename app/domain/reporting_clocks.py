"""The sponsor-reporting clocks of serious adverse events (SPEC §2.6, amended; ICH E2A).

Three instants anchor the clocks, and none of them is ever moved by a later change:
- `aware_at`: the site's FIRST awareness of the event (never overwritten; a wrong entry is
  voided and entered again);
- `serious_aware_at`: when the site knew the event was serious - `aware_at` when it is
  recorded serious, else the moment it is upgraded (the time the request gives, or the time
  of the upgrade). Kept once set: an event downgraded and upgraded again keeps the first one,
  so its clock cannot be restarted;
- `sponsor_aware_at`: when the sponsor learned of it, recorded by the sponsor-report call
  (the SAE report's time unless the call says otherwise).

Deadlines:
- every serious event: report to the sponsor by `serious_aware_at + 24 h`;
- a SUSAR (serious, related possible or more, unexpected): the expedited report by
  `(sponsor_aware_at, else conservatively serious_aware_at) + 7 days` when fatal or
  life-threatening, else `+ 15 days`;
- a fatal or life-threatening SUSAR also has a complete follow-up report due 8 days after its
  expedited due time (`follow_up_due_at`).
A report is overdue when it is unreported and `now > due_at`: at the due instant it is still
on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain import protocol
from app.domain.adverse_events import AdverseEventInput, is_fatal_or_life_threatening, is_susar
from app.domain.errors import InvalidData


class ReportStatus(StrEnum):
    """Where one sponsor report stands against its clock."""

    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    OVERDUE = "overdue"
    REPORTED_ON_TIME = "reported_on_time"
    REPORTED_LATE = "reported_late"


@dataclass(frozen=True, slots=True)
class ClockAnchors:
    """The instants the clocks run from (see the module docstring)."""

    serious_aware_at: datetime | None
    sponsor_aware_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Deadlines:
    report_due_at: datetime | None
    expedited_due_at: datetime | None
    follow_up_due_at: datetime | None


def deadlines(ae: AdverseEventInput, anchors: ClockAnchors) -> Deadlines:
    """Every report due for this event, from its anchors."""
    if not ae.serious or anchors.serious_aware_at is None:
        return Deadlines(None, None, None)
    report_due = anchors.serious_aware_at + protocol.SAE_REPORT_WITHIN
    if not is_susar(ae):
        return Deadlines(report_due, None, None)
    start = anchors.sponsor_aware_at or anchors.serious_aware_at
    if is_fatal_or_life_threatening(ae):
        expedited = start + protocol.SUSAR_FATAL_OR_LIFE_THREATENING_WITHIN
        return Deadlines(report_due, expedited, expedited + protocol.SUSAR_FOLLOW_UP_AFTER)
    return Deadlines(report_due, start + protocol.SUSAR_OTHER_WITHIN, None)


def serious_awareness(
    *,
    was_serious: bool,
    previous: datetime | None,
    now_serious: bool,
    aware_at: datetime,
    declared: datetime | None,
    now: datetime,
) -> datetime | None:
    """`serious_aware_at` after a change (422 on a declared time that cannot be right).

    `declared` is the `serious_aware_at` a follow-up sends; it is accepted only when that
    follow-up makes the event serious, and must lie between `aware_at` and `now`.
    """
    upgrade = now_serious and not was_serious
    if declared is not None:
        _check_declared(declared, upgrade=upgrade, aware_at=aware_at, now=now)
    if previous is not None or not now_serious:
        return previous
    if not upgrade:  # recorded serious from the start
        return aware_at
    return declared or now


def _check_declared(
    declared: datetime, *, upgrade: bool, aware_at: datetime, now: datetime
) -> None:
    field = "serious_aware_at"
    if not upgrade:
        raise InvalidData.one(
            field, "is only given with the follow-up that makes the event serious"
        )
    if declared.utcoffset() is None:
        raise InvalidData.one(field, "must include a UTC offset (e.g. 'Z')")
    if declared < aware_at:
        raise InvalidData.one(field, "must not be before aware_at (the first awareness)")
    if declared > now:
        raise InvalidData.one(field, "must not be in the future")


def is_overdue(due_at: datetime | None, reported_at: datetime | None, now: datetime) -> bool:
    """Unreported after the due instant; at exactly `due_at` it is still on time."""
    return due_at is not None and reported_at is None and now > due_at


def report_status(
    due_at: datetime | None, reported_at: datetime | None, now: datetime
) -> ReportStatus:
    """One report's standing, for the 'due' and 'overdue' lists."""
    if due_at is None:
        return ReportStatus.NOT_REQUIRED
    if reported_at is not None:
        late = reported_at > due_at
        return ReportStatus.REPORTED_LATE if late else ReportStatus.REPORTED_ON_TIME
    return ReportStatus.OVERDUE if now > due_at else ReportStatus.PENDING
