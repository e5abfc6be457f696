"""The audit trail: read by monitors and admins, verified against its hash chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth import AuditReader
from app.db.repositories import audit as repo
from app.deps import PageDep, SessionDep
from app.problems import error_responses
from app.schemas.audit import AuditEntryOut, AuditVerifyOut
from app.schemas.common import PageOut
from app.services.concealment import hidden_audit_tables

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", responses=error_responses(401, 403))
async def audit_trail(
    session: SessionDep,
    principal: AuditReader,
    page: PageDep,
    table: Annotated[str | None, Query(max_length=63)] = None,
    record_id: Annotated[str | None, Query(max_length=64)] = None,
    participant_id: Annotated[str | None, Query(max_length=64)] = None,
) -> PageOut[AuditEntryOut]:
    """Oldest first. Allocation-list rows stay hidden from roles that may not see them."""
    rows, total = await repo.entries(
        session,
        table=table,
        record_id=record_id,
        participant_id=participant_id,
        hidden_tables=hidden_audit_tables(principal),
        limit=page.limit,
        offset=page.offset,
    )
    items = [AuditEntryOut.model_validate(r) for r in rows]
    return PageOut[AuditEntryOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/verify", responses=error_responses(401, 403))
async def verify(session: SessionDep, _: AuditReader) -> AuditVerifyOut:
    """Walks the hash chain; `valid: false` names the first altered, missing or foreign row.

    Keep `head_hash` from time to time outside the database: a later verify that does not
    reach the same head shows that the end of the trail was cut off.
    """
    verdict = await repo.verify_chain(session)
    return AuditVerifyOut(
        valid=verdict.valid,
        checked=verdict.checked,
        first_invalid=verdict.first_invalid,
        head_hash=verdict.head_hash,
    )
