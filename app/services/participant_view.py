"""Participants as the API shows them: enrol, read and list on the driver connection.

These are the busiest calls, so each is one statement on the request's driver connection
(app/db/repositories/participant_rows.py) shaped straight into the response model. A list
item is exactly the single read: consent, eligibility, arm and Day 1 included.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.models import Participant, Screening
from app.db.repositories import participant_rows as rows
from app.db.repositories import participants as repo
from app.db.request_db import RequestDb
from app.domain.errors import InvalidData, NotFound
from app.problems import ProblemError
from app.schemas.common import PageOut
from app.schemas.participants import (
    ConsentOut,
    MrnOut,
    ParticipantIn,
    ParticipantOut,
    ScreeningOut,
)
from app.services import mrn
from app.services.access import visible_site_filter


async def enrol(db: RequestDb, principal: Principal, data: ParticipantIn) -> ParticipantOut:
    """Enrol for screening at the caller's site; PostgreSQL assigns the study id."""
    if data.date_of_birth > clock.latest_local_date():
        raise InvalidData.one("date_of_birth", "must not be in the future")
    site_id = await _enrolment_site(db.conn, principal, data.site_code)
    linked: dict[str, Any] = {}
    if data.mrn is not None:  # rare: through the ORM session, on the same transaction
        linked = await mrn.columns(await db.session(), site_id, data.mrn)
    row = await rows.insert_participant(
        db.conn,
        db.context,
        site_id=site_id,
        date_of_birth=data.date_of_birth,
        sex=data.sex,
        status="screening",
        created_by=principal.user_id,
        **linked,
    )
    out = ParticipantOut(site_code=data.site_code, **dict(row))
    if data.mrn is not None:
        system = await rows.mrn_system(db.conn, site_id)
        if system is not None and mrn.may_see(principal, site_id):
            out.mrn = MrnOut(system=system, value=data.mrn)
    return out


async def _enrolment_site(
    conn: asyncpg.Connection, principal: Principal, site_code: str
) -> uuid.UUID:
    """A site-bound caller enrols at their own site (known from the token: no lookup)."""
    if principal.site_bound:
        if site_code != principal.site_code or principal.site_id is None:
            raise ProblemError(403, "Site-bound users enrol participants at their own site only")
        return principal.site_id
    site_id = await rows.site_id_by_code(conn, site_code)
    if site_id is None:
        raise InvalidData.one("site_code", f"no site '{site_code}'")
    return site_id


async def read(db: RequestDb, principal: Principal, participant_id: uuid.UUID) -> ParticipantOut:
    """Another site's participant is indistinguishable from a missing one (404)."""
    row = await rows.view(db.conn, participant_id, visible_site_filter(principal))
    if row is None:
        raise NotFound("No such participant")
    return view_out(row, principal)


async def page(
    db: RequestDb,
    principal: Principal,
    *,
    status: str | None,
    site_code: str | None,
    updated_since: datetime | None,
    limit: int,
    offset: int,
) -> PageOut[ParticipantOut]:
    found, total = await rows.view_page(
        db.conn,
        site_id=visible_site_filter(principal),
        status=status,
        site_code=site_code,
        updated_since=updated_since,
        limit=limit,
        offset=offset,
    )
    items = [view_out(r, principal) for r in found]
    return PageOut[ParticipantOut](items=items, total=total, limit=limit, offset=offset)


def view_out(row: asyncpg.Record | Any, principal: Principal | None = None) -> ParticipantOut:
    """The view; the MRN only for the participant's own site roles and admin (`principal`)."""
    consent = None
    if row["consent_date"] is not None:
        consent = ConsentOut(
            consent_date=row["consent_date"],
            form_version=row["form_version"],
            recorded_at=row["consent_at"],
        )
    return ParticipantOut(
        id=row["id"],
        study_id=row["study_id"],
        site_code=row["site_code"],
        date_of_birth=row["date_of_birth"],
        sex=row["sex"],
        status=row["status"],
        created_at=row["created_at"],
        version=row["version"],
        consent=consent,
        eligible=row["eligible"],
        arm=row["arm"],
        day1=row["day1"],
        mrn=_mrn(row, principal),
    )


def _mrn(row: asyncpg.Record | Any, principal: Principal | None) -> MrnOut | None:
    if principal is None or row.get("mrn_hmac") is None:
        return None
    found = mrn.shown_one(
        principal, row["site_id"], row["mrn_system"], row["mrn_hmac"], row["mrn_ciphertext"]
    )
    return None if found is None else MrnOut(system=found.system, value=found.value)


async def participant_out(
    session: AsyncSession, participant: Participant, principal: Principal
) -> ParticipantOut:
    """The view of a participant the ORM already holds (after a correction)."""
    summary = await repo.summary(session, participant.id)
    return view_out({**_columns(participant), **summary._mapping}, principal)


def _columns(participant: Participant) -> dict[str, Any]:
    return {
        name: getattr(participant, name)
        for name in (
            "id",
            "study_id",
            "site_id",
            "date_of_birth",
            "sex",
            "status",
            "created_at",
            "version",
            "mrn_hmac",
            "mrn_ciphertext",
        )
    }


def screening_out(screening: Screening, participant: Participant) -> ScreeningOut:
    return ScreeningOut(
        id=screening.id,
        participant_id=participant.id,
        assessment_date=screening.assessment_date,
        eligible=screening.eligible,
        reasons=screening.reasons,
        scores=screening.scores,
        status=participant.status,
        age_years=screening.age_years,
        labs=screening.labs,
    )
