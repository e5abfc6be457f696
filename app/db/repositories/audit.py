"""Reading and verifying the audit trail (it is written only by triggers).

The app role has no rights on audit_log/audit_chain: it reads the view audit.trail and calls
the SECURITY DEFINER functions audit.verify_chain, audit.current_anchor and audit.anchor_at.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AuditEntry, AuditTrail


@dataclass(frozen=True)
class ChainVerdict:
    valid: bool
    checked: int
    first_invalid: int | None


@dataclass(frozen=True)
class Anchor:
    audit_id: int
    hash: str


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
    query = select(AuditTrail)
    if table:
        query = query.where(AuditTrail.table_name == table)
    if record_id:
        query = query.where(AuditTrail.record_id == record_id)
    if participant_id:
        query = query.where(AuditTrail.participant_id == participant_id)
    if hidden_tables:
        query = query.where(AuditTrail.table_name.not_in(hidden_tables))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(AuditTrail.id).limit(limit).offset(offset))
    return list(rows), total


async def verify_chain(session: AsyncSession) -> ChainVerdict:
    row = (await session.execute(text("SELECT * FROM audit.verify_chain()"))).one()
    return ChainVerdict(row.valid, row.checked, row.first_invalid)


async def current_anchor(session: AsyncSession) -> Anchor | None:
    """The newest settled anchor (waits for links being made at this moment; see 0006)."""
    row = (await session.execute(text("SELECT * FROM audit.current_anchor()"))).one()
    return None if row.anchor_id is None else Anchor(row.anchor_id, row.anchor_hash)


async def anchor_at(session: AsyncSession, audit_id: int) -> str | None:
    found = await session.scalar(text("SELECT audit.anchor_at(:id)"), {"id": audit_id})
    return None if found is None else str(found)
