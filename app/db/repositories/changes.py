"""The change feed's one query: committed changes after a cursor, in a stable order.

Reads the audit trail (view audit.trail) in (txid, id) order and only rows whose transaction
is older than every transaction still running (`txid < xmin` of this statement's snapshot):
such a transaction has finished, so all of its rows are visible now and no row can ever
appear before the cursor later. docs/contract.md, "The change feed", has the reasoning.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

FEED_SQL = text(
    """
SELECT a.txid, a.id, a.table_name, a.record_id, a.participant_id, a.action, a.occurred_at
FROM audit.trail a
LEFT JOIN participants p ON p.id = CAST(a.participant_id AS uuid)
WHERE a.table_name = ANY(:tables)
  AND (a.txid, a.id) > (:txid, :id)
  AND a.txid < CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint)
  AND (CAST(:site AS uuid) IS NULL OR p.site_id = CAST(:site AS uuid))
ORDER BY a.txid, a.id
LIMIT :limit
"""
)


@dataclass(frozen=True, slots=True)
class ChangeRow:
    txid: int
    id: int
    table_name: str
    record_id: str
    participant_id: str | None
    action: str
    occurred_at: datetime


async def changes_after(
    session: AsyncSession,
    *,
    txid: int,
    audit_id: int,
    tables: Sequence[str],
    site_id: uuid.UUID | None,
    limit: int,
) -> list[ChangeRow]:
    params = {
        "txid": txid,
        "id": audit_id,
        "tables": list(tables),
        "site": site_id,
        "limit": limit,
    }
    rows = await session.execute(FEED_SQL, params)
    return [ChangeRow(*row) for row in rows]
