"""Reading and verifying the audit trail (it is written only by triggers)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AuditEntry


@dataclass(frozen=True)
class ChainVerdict:
    valid: bool
    checked: int
    first_invalid: int | None
    head_hash: str | None


async def entries(
    session: AsyncSession,
    *,
    table: str | None,
    record_id: str | None,
    participant_id: str | None,
    hidden_tables: frozenset[str],
    limit: int,
    offset: int,
) -> tuple[list[AuditEntry], int]:
    query = select(AuditEntry)
    if table:
        query = query.where(AuditEntry.table_name == table)
    if record_id:
        query = query.where(AuditEntry.record_id == record_id)
    if participant_id:
        query = query.where(AuditEntry.participant_id == participant_id)
    if hidden_tables:
        query = query.where(AuditEntry.table_name.not_in(hidden_tables))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(AuditEntry.id).limit(limit).offset(offset))
    return list(rows), total


async def verify_chain(session: AsyncSession) -> ChainVerdict:
    row = (await session.execute(text("SELECT * FROM audit.verify_chain()"))).one()
    return ChainVerdict(row.valid, row.checked, row.first_invalid, row.head_hash)
