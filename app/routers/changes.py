"""The change feed (HTTP only): mobile and EHR clients sync with it instead of polling."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth import ParticipantReader
from app.deps import SessionDep, get_page
from app.problems import error_responses
from app.schemas.changes import ChangesOut
from app.services import changes as service

router = APIRouter(prefix="/api/v1", tags=["sync"])


@router.get("/changes", responses=error_responses(401, 403))
async def list_changes(
    session: SessionDep,
    principal: ParticipantReader,
    after: Annotated[
        str | None,
        Query(max_length=40, description="the `next_cursor` of the previous page; none: start"),
    ] = None,
    limit: Annotated[int, Query(ge=1, description="page size (hard maximum: MAX_PAGE_SIZE)")] = 50,
) -> ChangesOut:
    """Every committed change to participant-level records after the cursor, each exactly
    once and in a stable order, even while writes are running; site-bound roles see their
    own site's participants only. Each item names the record: read it for its values. A page
    shorter than `limit` means the feed is caught up; keep `next_cursor` and poll again.
    (docs/contract.md, "The change feed".)"""
    page = await get_page(limit=limit, offset=0)
    return await service.changes(session, principal, after, page.limit)
