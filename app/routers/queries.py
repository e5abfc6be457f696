"""Data queries (HTTP only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth import DataReviewer, ParticipantReader, QueryResponder
from app.deps import PageDep, SessionDep
from app.problems import error_responses
from app.schemas.queries import (
    QueryActionIn,
    QueryDetailOut,
    QueryIn,
    QueryOut,
    QueryPageOut,
    QueryResponseIn,
    QueryStatus,
)
from app.services import queries as service

router = APIRouter(prefix="/api/v1/queries", tags=["data management"])
CHANGES = error_responses(401, 403, 404, 409)


@router.post("", status_code=201, responses=error_responses(401, 403, 404))
async def raise_query(
    data: QueryIn, session: SessionDep, principal: DataReviewer, response: Response
) -> QueryOut:
    """A monitor or admin raises a discrepancy on one record (and optionally one field):
    `open`. 422 (`record_id`) when the record is not the participant's."""
    query = await service.raise_query(session, principal, data)
    response.headers["Location"] = f"/api/v1/queries/{query.id}"
    return QueryOut.model_validate(query)


@router.get("", responses=error_responses(401, 403))
async def list_queries(
    session: SessionDep,
    principal: ParticipantReader,
    page: PageDep,
    status: Annotated[QueryStatus | None, Query()] = None,
    participant_id: Annotated[uuid.UUID | None, Query()] = None,
) -> QueryPageOut:
    """Queries, newest first, by status and participant (site roles: their site only)."""
    items, total = await service.page(
        session,
        principal,
        status=status,
        participant_id=participant_id,
        limit=page.limit,
        offset=page.offset,
    )
    return QueryPageOut(
        items=[QueryOut.model_validate(q) for q in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{query_id}", responses=error_responses(401, 403, 404))
async def get_query(
    query_id: uuid.UUID, session: SessionDep, principal: ParticipantReader
) -> QueryDetailOut:
    """One query with its history and the corrections made in answer to it."""
    return await service.detail(session, principal, query_id)


@router.post("/{query_id}/responses", status_code=201, responses=CHANGES)
async def answer_query(
    query_id: uuid.UUID, data: QueryResponseIn, session: SessionDep, principal: QueryResponder
) -> QueryOut:
    """The participant's site answers: `answered` (409 when closed)."""
    return QueryOut.model_validate(await service.respond(session, principal, query_id, data.text))


@router.post("/{query_id}/close", responses=CHANGES)
async def close_query(
    query_id: uuid.UUID,
    session: SessionDep,
    principal: DataReviewer,
    data: QueryActionIn | None = None,
) -> QueryOut:
    """The monitor closes the query (409 when already closed)."""
    text = data.text if data else None
    return QueryOut.model_validate(await service.close(session, principal, query_id, text))


@router.post("/{query_id}/reopen", responses=CHANGES)
async def reopen_query(
    query_id: uuid.UUID,
    session: SessionDep,
    principal: DataReviewer,
    data: QueryActionIn | None = None,
) -> QueryOut:
    """The monitor re-opens an answered or closed query: `open` again."""
    text = data.text if data else None
    return QueryOut.model_validate(await service.reopen(session, principal, query_id, text))
