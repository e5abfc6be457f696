"""Typed dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.request_db import RequestDb
from app.domain.errors import FieldError
from app.problems import ProblemError
from app.schemas.common import PageOut
from app.settings import get_settings


async def get_session(request: Request) -> AsyncSession:
    """The ORM session of the request's transaction (opened and committed by
    RequestContextMiddleware), on the request's own connection."""
    db: RequestDb = request.state.db
    return await db.session()


async def get_db(request: Request) -> RequestDb:
    """The request's connection and transaction, for SQL on the driver (the hot paths)."""
    db: RequestDb = request.state.db
    return db


SessionDep = Annotated[AsyncSession, Depends(get_session)]
DbDep = Annotated[RequestDb, Depends(get_db)]


MAX_OFFSET = 2**31 - 1  # beyond any real list; keeps the value inside PostgreSQL's integers


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


async def get_page(
    limit: Annotated[int, Query(ge=1, description="page size (hard maximum: MAX_PAGE_SIZE)")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Page:
    maximum = get_settings().max_page_size
    if limit > maximum:
        raise ProblemError(
            422,
            f"limit must be at most {maximum}",
            errors=[FieldError("query.limit", f"must be at most {maximum}")],
        )
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(get_page)]
T = TypeVar("T")


def page_of(items: Sequence[T], page: Page) -> PageOut[T]:
    """One page of a short list the service reads whole (a participant's doses, a list's
    slots): every list answers the same envelope (SPEC §9.2)."""
    chosen = list(items[page.offset : page.offset + page.limit])
    return PageOut(items=chosen, total=len(items), limit=page.limit, offset=page.offset)


async def require_if_match(
    if_match: Annotated[str | None, Header(description="the ETag of the record read")] = None,
) -> int:
    """PATCH needs the version the client read: 428 without it, 412 when it is stale."""
    if if_match is None:
        raise ProblemError(428, "If-Match header with the record's ETag is required")
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise ProblemError(412, "If-Match does not match the record's current ETag") from None


# Declare it AFTER the role dependency in a route's signature: FastAPI resolves dependencies
# in order, and a caller without the role must get 403, not 428.
IfMatchDep = Annotated[int, Depends(require_if_match)]
