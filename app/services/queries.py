"""Data queries (SPEC §13): raised by a monitor or admin (or by the service itself), answered
by the participant's site, closed or re-opened by the monitor. Every step is a row of
`query_messages`, and every row of both tables is audited by PostgreSQL.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import DataQuery, QueryMessage
from app.db.repositories import queries as repo
from app.domain import data_queries as rules
from app.domain.errors import InvalidData, NotFound
from app.schemas.queries import QueryDetailOut, QueryIn, QueryMessageOut, QueryOut
from app.services.participants import visible


async def check_own_record(
    session: AsyncSession, participant_id: uuid.UUID, resource: str, record_id: uuid.UUID
) -> None:
    """A query or an SDV mark names one of the participant's own records (422 otherwise)."""
    table = rules.RESOURCE_TABLES[resource]
    if not await repo.record_belongs_to(session, table, record_id, participant_id):
        raise InvalidData.one("record_id", f"no {resource} of this participant has that id")


async def raise_query(session: AsyncSession, principal: Principal, data: QueryIn) -> DataQuery:
    participant = await visible(session, principal, data.participant_id)
    await check_own_record(session, participant.id, data.resource, data.record_id)
    await set_reason(session, "data query raised")
    query = DataQuery(
        participant_id=participant.id,
        resource=data.resource,
        record_id=data.record_id,
        field=data.field,
        text=data.text,
        created_by=principal.user_id,
    )
    return await _opened(session, query, principal)


async def raise_automatic(
    session: AsyncSession,
    participant_id: uuid.UUID,
    resource: str,
    record_id: uuid.UUID,
    field: str,
    text: str,
) -> DataQuery:
    """A query the service raises itself (no author; `automatic` true)."""
    query = DataQuery(
        participant_id=participant_id,
        resource=resource,
        record_id=record_id,
        field=field,
        text=text,
        automatic=True,
    )
    return await _opened(session, query, None)


async def _opened(
    session: AsyncSession, query: DataQuery, principal: Principal | None
) -> DataQuery:
    session.add(query)
    await session.flush()
    _message(session, query, "opened", query.text, principal)
    await session.flush()
    return query


def _message(
    session: AsyncSession,
    query: DataQuery,
    kind: str,
    text: str | None,
    principal: Principal | None,
    record_id: uuid.UUID | None = None,
) -> None:
    session.add(
        QueryMessage(
            query_id=query.id,
            participant_id=query.participant_id,
            kind=kind,
            text=text,
            correction_record_id=record_id,
            author_user_id=principal.user_id if principal else None,
            author_role=principal.role if principal else None,
        )
    )


async def _visible_query(
    session: AsyncSession, principal: Principal, query_id: uuid.UUID, *, lock: bool = False
) -> DataQuery:
    """Another site's query is indistinguishable from a missing one (404)."""
    found = await repo.get(session, query_id, for_update=lock)
    if found is None or not principal.can_see_site(found[1]):
        raise NotFound("No such query")
    return found[0]


async def _step(
    session: AsyncSession,
    principal: Principal,
    query_id: uuid.UUID,
    kind: str,
    text: str | None,
) -> DataQuery:
    query = await _visible_query(session, principal, query_id, lock=True)
    move = {"response": rules.after_response, "closed": rules.after_close}
    query.status = move.get(kind, rules.after_reopen)(query.status)
    await set_reason(session, f"data query {kind}")
    query.updated_at = clock.utc_now()
    _message(session, query, kind, text, principal)
    await session.flush()
    return query


async def respond(
    session: AsyncSession, principal: Principal, query_id: uuid.UUID, text: str
) -> DataQuery:
    return await _step(session, principal, query_id, "response", text)


async def close(
    session: AsyncSession, principal: Principal, query_id: uuid.UUID, text: str | None
) -> DataQuery:
    return await _step(session, principal, query_id, "closed", text)


async def reopen(
    session: AsyncSession, principal: Principal, query_id: uuid.UUID, text: str | None
) -> DataQuery:
    return await _step(session, principal, query_id, "reopened", text)


async def link_correction(
    session: AsyncSession,
    principal: Principal,
    query_id: uuid.UUID | None,
    resource: str,
    record_id: uuid.UUID,
) -> None:
    """A correction (PATCH) made in answer to a query: the query shows it and is answered."""
    if query_id is None:
        return
    found = await repo.get(session, query_id, for_update=True)
    if found is None or not principal.can_see_site(found[1]):
        raise InvalidData.one("query_id", "no such query")
    query = found[0]
    if (query.resource, query.record_id) != (resource, record_id):
        raise InvalidData.one("query_id", "the query is about another record")
    query.status = rules.after_response(query.status)
    query.updated_at = clock.utc_now()
    _message(session, query, "correction", None, principal, record_id)
    await session.flush()


async def detail(
    session: AsyncSession, principal: Principal, query_id: uuid.UUID
) -> QueryDetailOut:
    query = await _visible_query(session, principal, query_id)
    messages = await repo.messages(session, query.id)
    return QueryDetailOut(
        **QueryOut.model_validate(query).model_dump(),
        messages=[QueryMessageOut.model_validate(m) for m in messages],
        corrections=[
            m.correction_record_id for m in messages if m.correction_record_id is not None
        ],
    )


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    participant_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[DataQuery], int]:
    return await repo.page(
        session,
        site_id=principal.site_id if principal.site_bound else None,
        status=status,
        participant_id=participant_id,
        limit=limit,
        offset=offset,
    )
