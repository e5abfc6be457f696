"""Participants on the driver connection: the busiest write and reads (enrol, read, list).

One round trip each: the INSERT returns the row with its study id (assigned by PostgreSQL);
the read and the list return the full participant view (the row, the site code, the latest
consent, the latest eligibility decision and the allocation), the list with its total.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import Table, bindparam, insert, select

from app.db.audit_context import AuditContext, audit_context_cte
from app.db.models import Participant
from app.db.sql import compile_sql

_T: Table = Participant.__table__  # type: ignore[assignment]

_INSERTED = (
    "id",
    "site_id",
    "date_of_birth",
    "sex",
    "status",
    "created_by",
    "version",
    "mrn_hmac",
    "mrn_ciphertext",
)
# the enrolment is a single-statement request (app/single_statement.py): the INSERT sets the
# audit context that its audit row records, so it needs no transaction of its own
_CONTEXT = audit_context_cte()
INSERT = compile_sql(
    insert(_T)
    .from_select(
        _INSERTED,
        select(*[bindparam(name, type_=_T.c[name].type) for name in _INSERTED]).select_from(
            _CONTEXT
        ),
    )
    .returning(
        _T.c.id,
        _T.c.study_id,
        _T.c.date_of_birth,
        _T.c.sex,
        _T.c.status,
        _T.c.created_at,
        _T.c.version,
    )
)

_VIEW = """
    SELECT p.id, p.study_id, p.site_id, s.code AS site_code, p.date_of_birth, p.sex, p.status,
           p.created_at, p.version, c.consent_date, c.form_version, c.created_at AS consent_at,
           sc.eligible, r.arm, r.day1, p.mrn_hmac, p.mrn_ciphertext, s.mrn_system{extra}
    FROM {source} p
    JOIN sites s ON s.id = p.site_id
    LEFT JOIN LATERAL (
        SELECT consent_date, form_version, created_at FROM consents
        WHERE participant_id = p.id ORDER BY created_at DESC LIMIT 1) c ON true
    LEFT JOIN LATERAL (
        SELECT eligible FROM screenings
        WHERE participant_id = p.id ORDER BY created_at DESC, id DESC LIMIT 1) sc ON true
    LEFT JOIN randomizations r ON r.participant_id = p.id
"""

VIEW_ONE = (
    _VIEW.format(extra="", source="participants")
    + " WHERE p.id = $1 AND ($2::uuid IS NULL OR p.site_id = $2)"
)

_FILTER = """
    ($1::uuid IS NULL OR p.site_id = $1)
    AND ($2::text IS NULL OR p.status = $2)
    AND ($3::text IS NULL OR p.site_id = (SELECT id FROM sites WHERE code = $3))
    AND ($4::timestamptz IS NULL OR coalesce(p.updated_at, p.created_at) >= $4)
"""

# The page is chosen on the participants alone (in the list's order, by its index) and only
# its rows get the look-ups of consent, eligibility and allocation; the total is counted once.
VIEW_PAGE = (
    f"""
    WITH page AS (
        SELECT p.* FROM participants p WHERE {_FILTER}
        ORDER BY p.created_at, p.study_id LIMIT $5 OFFSET $6)
"""
    + _VIEW.format(
        extra=f", (SELECT count(*) FROM participants p WHERE {_FILTER}) AS total",
        source="page",
    )
    + " ORDER BY p.created_at, p.study_id"
)

COUNT = f"SELECT count(*) FROM participants p WHERE {_FILTER}"

SITE_BY_CODE = "SELECT id FROM sites WHERE code = $1"
MRN_SYSTEM = "SELECT mrn_system FROM sites WHERE id = $1"


async def insert_participant(
    conn: asyncpg.Connection, context: AuditContext, **values: Any
) -> asyncpg.Record:
    defaults = {"id": uuid.uuid4(), "version": 1, "mrn_hmac": None, "mrn_ciphertext": None}
    row: asyncpg.Record = await conn.fetchrow(
        INSERT.text, *INSERT.args(defaults | values | context.params())
    )
    return row


async def site_id_by_code(conn: asyncpg.Connection, code: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.fetchval(SITE_BY_CODE, code)
    return found


async def view(
    conn: asyncpg.Connection, participant_id: uuid.UUID, site_id: uuid.UUID | None
) -> asyncpg.Record | None:
    """The participant's view, or None when missing or at another site than `site_id`."""
    row: asyncpg.Record | None = await conn.fetchrow(VIEW_ONE, participant_id, site_id)
    return row


async def view_page(
    conn: asyncpg.Connection,
    *,
    site_id: uuid.UUID | None,
    status: str | None,
    site_code: str | None,
    updated_since: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[asyncpg.Record], int]:
    filters = (site_id, status, site_code, updated_since)
    rows = await conn.fetch(VIEW_PAGE, *filters, limit, offset)
    if rows:
        return list(rows), int(rows[0]["total"])
    total: int = await conn.fetchval(COUNT, *filters) if offset else 0
    return [], total


async def mrn_system(conn: asyncpg.Connection, site_id: uuid.UUID) -> str | None:
    found: str | None = await conn.fetchval(MRN_SYSTEM, site_id)
    return found
