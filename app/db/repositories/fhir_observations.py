"""Observations for FHIR: lab results and the scores stored with screenings and visits, as one
ordered, filterable, pageable list (a UNION ALL of the three)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import String, and_, case, func, literal, null, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import LabResult, Participant, Screening, Visit
from app.db.repositories.fhir import ONE_MICROSECOND, Filter, date_clause, day, page
from app.interop.fhir.search import DateBound, Token
from app.interop.fhir.terminology import LOINC, OBSERVATION_CATEGORY, SCORE_CODES, SCORE_SYSTEM

R = TypeVar("R", LabResult, Visit, Screening)


@dataclass(frozen=True, slots=True)
class ObservationFilter:
    base: Filter
    codes: tuple[tuple[Token, ...], ...] = ()  # AND of ORs
    categories: tuple[tuple[Token, ...], ...] = ()
    identifiers: tuple[tuple[Token, ...], ...] = ()
    dates: tuple[DateBound, ...] = ()
    last_updated: tuple[DateBound, ...] = ()


def _labs() -> Any:
    return select(
        literal("lab").label("kind"),
        LabResult.id.label("record_id"),
        null().cast(String).label("score_key"),
        LabResult.participant_id.label("participant_id"),
        literal(LOINC).label("code_system"),
        LabResult.loinc.label("code"),
        literal("laboratory").label("category"),
        LabResult.collected_at.label("start"),
        (LabResult.collected_at + ONE_MICROSECOND).label("end"),
        _updated(LabResult).label("last_updated"),
        LabResult.fhir_identifier_system.label("ident_system"),
        LabResult.fhir_identifier_value.label("ident_value"),
    )


def _updated(model: Any) -> Any:
    return func.coalesce(model.updated_at, model.created_at)


def _scores(model: Any, kind: str, day_column: Any) -> Any:
    # a function in FROM may refer to the tables before it (LATERAL is implied)
    keys = func.jsonb_object_keys(model.scores).table_valued("key").render_derived("score_keys")
    start, end = day(day_column)
    updated = _updated(model) if hasattr(model, "updated_at") else model.created_at
    return (
        select(
            literal(kind).label("kind"),
            model.id.label("record_id"),
            keys.c.key.label("score_key"),
            model.participant_id.label("participant_id"),
            literal(SCORE_SYSTEM).label("code_system"),
            case(SCORE_CODES, value=keys.c.key, else_=keys.c.key).label("code"),
            literal("survey").label("category"),
            start.label("start"),
            end.label("end"),
            updated.label("last_updated"),
            null().cast(String).label("ident_system"),
            null().cast(String).label("ident_value"),
        )
        .select_from(model)
        .join(keys, true())
        .where(keys.c.key.in_(list(SCORE_CODES)))
    )


def _token_match(tokens: tuple[Token, ...], system: Any, code: Any) -> Any:
    alternatives = []
    for t in tokens:
        if t.system is None:
            alternatives.append(code == t.code)
        elif t.system == "":
            continue  # no coding of ours lacks a system
        else:
            alternatives.append(and_(system == t.system, code == t.code))
    return or_(*alternatives) if alternatives else literal(False)


def _category_match(tokens: tuple[Token, ...], category: Any) -> Any:
    wanted = [t.code for t in tokens if t.system in (None, OBSERVATION_CATEGORY)]
    return category.in_(wanted) if wanted else literal(False)


async def observations(
    session: AsyncSession, where: ObservationFilter, limit: int, offset: int
) -> tuple[list[Any], int]:
    """Rows (kind, record_id, score_key): the page, in effective-time order, and the total."""
    union = (
        _labs()
        .union_all(
            _scores(Visit, "visit", Visit.visit_date),
            _scores(Screening, "screening", Screening.assessment_date),
        )
        .subquery("obs")
    )
    c = union.c
    query = (
        select(c.kind, c.record_id, c.score_key)
        .join(Participant, Participant.id == c.participant_id)
        .where(*where.base.clauses())
    )
    for tokens in where.codes:
        query = query.where(_token_match(tokens, c.code_system, c.code))
    for tokens in where.categories:
        query = query.where(_category_match(tokens, c.category))
    for tokens in where.identifiers:
        query = query.where(_token_match(tokens, c.ident_system, c.ident_value))
    for bound in where.dates:
        query = query.where(date_clause(bound, c.start, c.end))
    for bound in where.last_updated:
        query = query.where(date_clause(bound, c.last_updated, c.last_updated + ONE_MICROSECOND))
    order = (c.start, c.kind, c.record_id, c.score_key)
    return await page(session, query, order, limit, offset)


async def _by_ids(
    session: AsyncSession, model: type[R], ids: Sequence[uuid.UUID], site_id: uuid.UUID | None
) -> list[R]:
    """Records of one participant-owned table by id, limited to a site when given."""
    query = (
        select(model)
        .join(Participant, Participant.id == model.participant_id)
        .where(model.id.in_(list(ids)))
    )
    if site_id is not None:
        query = query.where(Participant.site_id == site_id)
    return list(await session.scalars(query))


async def lab_results(
    session: AsyncSession, ids: Sequence[uuid.UUID], site_id: uuid.UUID | None
) -> list[LabResult]:
    return await _by_ids(session, LabResult, ids, site_id)


async def visits(
    session: AsyncSession, ids: Sequence[uuid.UUID], site_id: uuid.UUID | None
) -> list[Visit]:
    return await _by_ids(session, Visit, ids, site_id)


async def screenings(
    session: AsyncSession, ids: Sequence[uuid.UUID], site_id: uuid.UUID | None
) -> list[Screening]:
    return await _by_ids(session, Screening, ids, site_id)
