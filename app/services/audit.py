"""The audit trail for the API: who may read which rows, verification and anchors."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import AuditEntry
from app.db.repositories import audit as repo
from app.services.concealment import hidden_audit_tables


@dataclass(frozen=True)
class Verification:
    valid: bool
    checked: int
    first_invalid: int | None
    head_id: int | None
    head_hash: str | None
    anchor_ok: bool | None


async def trail(
    session: AsyncSession,
    principal: Principal,
    *,
    table: str | None,
    record_id: str | None,
    participant_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditEntry], int]:
    return await repo.entries(
        session,
        table=table,
        record_id=record_id,
        participant_id=participant_id,
        hidden_tables=hidden_audit_tables(principal),
        limit=limit,
        offset=offset,
    )


async def verify(
    session: AsyncSession, anchor_id: int | None = None, anchor_hash: str | None = None
) -> Verification:
    """Walk every chain; the head (an anchor to keep outside the database) only when valid;
    with an anchor, whether the chains still hold that hash at that row."""
    verdict = await repo.verify_chain(session)
    head = await repo.current_anchor(session) if verdict.valid else None
    anchor_ok = None
    if anchor_id is not None and anchor_hash is not None:
        found = await repo.anchor_at(session, anchor_id)
        anchor_ok = found is not None and hmac.compare_digest(found, anchor_hash.lower())
    return Verification(
        valid=verdict.valid,
        checked=verdict.checked,
        first_invalid=verdict.first_invalid,
        head_id=head.audit_id if head else None,
        head_hash=head.hash if head else None,
        anchor_ok=anchor_ok,
    )
