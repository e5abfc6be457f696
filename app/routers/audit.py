"""The audit trail: read by monitors and admins, verified against its hash chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth import AuditReader
from app.deps import PageDep, SessionDep
from app.domain.errors import InvalidData
from app.problems import error_responses
from app.schemas.audit import AuditEntryOut, AuditVerifyOut
from app.schemas.common import PageOut
from app.services import audit as service

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
AnchorHash = Annotated[
    str | None,
    Query(pattern="^[0-9a-fA-F]{64}$", description="the anchor hash kept (with anchor_id)"),
]


@router.get("", responses=error_responses(401, 403))
async def list_audit_trail(
    session: SessionDep,
    principal: AuditReader,
    page: PageDep,
    table: Annotated[str | None, Query(max_length=63)] = None,
    record_id: Annotated[str | None, Query(max_length=64)] = None,
    participant_id: Annotated[str | None, Query(max_length=64)] = None,
) -> PageOut[AuditEntryOut]:
    """Oldest first. Allocation-list rows are for statisticians and admins, the rows of
    `users` and `api_tokens` for admins; other readers do not see them."""
    rows, total = await service.trail(
        session,
        principal,
        table=table,
        record_id=record_id,
        participant_id=participant_id,
        limit=page.limit,
        offset=page.offset,
    )
    items = [AuditEntryOut.model_validate(r) for r in rows]
    return PageOut[AuditEntryOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/verify", responses=error_responses(401, 403))
async def verify_audit_chain(
    session: SessionDep,
    _: AuditReader,
    anchor_id: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="the audit id of a kept anchor")
    ] = None,
    anchor_hash: AnchorHash = None,
) -> AuditVerifyOut:
    """Walks the hash chains; `valid: false` names the first altered, missing or foreign row.

    Keep `head_id` and `head_hash` outside the database (docs/deployment.md: anchors). A
    later call with `anchor_id` and `anchor_hash` answers `anchor_ok`: false when the history
    up to that row was rewritten, even if the chains were then recomputed to look valid.
    """
    if (anchor_id is None) != (anchor_hash is None):
        field = "query.anchor_hash" if anchor_hash is None else "query.anchor_id"
        raise InvalidData.one(field, "anchor_id and anchor_hash go together")
    result = await service.verify(session, anchor_id, anchor_hash)
    return AuditVerifyOut(
        valid=result.valid,
        checked=result.checked,
        first_invalid=result.first_invalid,
        head_id=result.head_id,
        head_hash=result.head_hash,
        anchor_ok=result.anchor_ok,
    )
