"""The service's only clock reads; tests may freeze them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# Dates arrive as local calendar dates from sites in any time zone; a date is refused as
# "in the future" only when it has not begun anywhere yet (the earliest zone is UTC+14).
EARLIEST_ZONE_OFFSET = timedelta(hours=14)


def utc_now() -> datetime:
    return datetime.now(UTC)


def latest_local_date(now: datetime | None = None) -> date:
    return ((now or utc_now()) + EARLIEST_ZONE_OFFSET).date()
