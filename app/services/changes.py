"""The change feed: what changed after a cursor, for the records the caller may read."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.repositories import changes as repo
from app.domain.errors import InvalidData
from app.schemas.changes import ChangeOut, ChangesOut
from app.services.access import visible_site_filter

# audited table -> resource: the participant-level records; accounts, sites, allocation
# lists and slots (concealment) and exports are never in the feed
RESOURCES = {
    "participants": "participant",
    "screenings": "screening",
    "consents": "consent",
    "randomizations": "randomization",
    "doses": "dose",
    "visits": "visit",
    "protocol_deviations": "protocol_deviation",
    "outcomes": "outcome",
    "adverse_events": "adverse_event",
    "lab_results": "lab_result",
    "treatments": "treatment",
}
ACTIONS = {"INSERT": "created", "UPDATE": "updated", "VOID": "voided"}
CURSOR = re.compile(r"(\d{1,19})-(\d{1,19})")
START = "0-0"


def parse_cursor(cursor: str | None) -> tuple[int, int]:
    """A cursor is `<transaction id>-<audit id>` of the last change seen (opaque to clients)."""
    match = CURSOR.fullmatch(cursor or START)
    if match is None or max(int(match[1]), int(match[2])) >= 2**63:
        raise InvalidData.one("query.after", "not a cursor of this feed")
    return int(match[1]), int(match[2])


async def changes(
    session: AsyncSession, principal: Principal, after: str | None, limit: int
) -> ChangesOut:
    txid, audit_id = parse_cursor(after)
    rows = await repo.changes_after(
        session,
        txid=txid,
        audit_id=audit_id,
        tables=tuple(RESOURCES),
        site_id=visible_site_filter(principal),
        limit=limit,
    )
    items = [
        ChangeOut(
            cursor=f"{r.txid}-{r.id}",
            resource=RESOURCES[r.table_name],
            id=uuid.UUID(r.record_id),
            participant_id=uuid.UUID(r.participant_id) if r.participant_id else None,
            action=ACTIONS[r.action],
            changed_at=r.occurred_at,
        )
        for r in rows
    ]
    next_cursor = items[-1].cursor if items else after or START
    return ChangesOut(items=items, next_cursor=next_cursor, limit=limit)
