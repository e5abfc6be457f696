"""The stack's ceiling: a bare FastAPI + asyncpg endpoint (no ORM, no auth, no middleware).

`POST /participants` does, in one transaction, one INSERT of a participant-like row and one
INSERT of an audit row holding the new row as JSONB, into this app's own two tables (created
at startup, in whatever database REF_DATABASE_URL names): the reference for writes and lists.
`GET /participants/{id}` is a bare one-row SELECT by primary key: the reference for reads.
`benchmarks/run.py` starts it with

    REF_DATABASE_URL=postgresql://... uvicorn benchmarks.reference_app:app --workers 2

and drives it with the same load as the service, so the service's audited write can be
compared with what the same stack does with no framework of ours around it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Literal

import asyncpg
from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel

POOL_SIZE = int(os.environ.get("REF_POOL_SIZE", "10"))
SCHEMA_LOCK_KEY = 7_245_999_001

SCHEMA = """
CREATE TABLE IF NOT EXISTS bench_ref_participants (
    id uuid PRIMARY KEY,
    study_id text NOT NULL UNIQUE,
    site_code text NOT NULL,
    date_of_birth date NOT NULL,
    sex text NOT NULL,
    status text NOT NULL DEFAULT 'screening',
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE IF NOT EXISTS bench_ref_number_seq;
CREATE TABLE IF NOT EXISTS bench_ref_audit (
    id bigserial PRIMARY KEY,
    table_name text NOT NULL,
    record_id uuid NOT NULL,
    action text NOT NULL,
    new_values jsonb NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
"""

INSERT_ROW = """
INSERT INTO bench_ref_participants (id, study_id, site_code, date_of_birth, sex)
VALUES ($1, $2 || '-' || (SELECT lpad(n, greatest(4, length(n)), '0')
                              FROM (SELECT nextval('bench_ref_number_seq')::text AS n) s),
        $2, $3, $4)
RETURNING id, study_id, site_code, date_of_birth, sex, status, version, created_at
"""
SELECT_ROW = """
SELECT id, study_id, site_code, date_of_birth, sex, status, version, created_at
FROM bench_ref_participants WHERE id = $1
"""
INSERT_AUDIT = """
INSERT INTO bench_ref_audit (table_name, record_id, action, new_values)
VALUES ('bench_ref_participants', $1, 'INSERT', $2::jsonb)
"""


class ParticipantIn(BaseModel):
    site_code: str
    date_of_birth: date
    sex: Literal["female", "male"]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    dsn = os.environ["REF_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    pool = await asyncpg.create_pool(dsn, min_size=POOL_SIZE, max_size=POOL_SIZE)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK_KEY)  # 2 workers
        await conn.execute(SCHEMA)
    app.state.pool = pool
    yield
    await pool.close()


def as_json(row: asyncpg.Record) -> dict[str, object]:
    return {k: (v if isinstance(v, str | int) else str(v)) for k, v in row.items()}


app = FastAPI(title="benchmark reference (FastAPI + asyncpg)", lifespan=lifespan)


@app.get("/ready")
async def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/participants", status_code=201)
async def create_participant(data: ParticipantIn, request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            INSERT_ROW, uuid.uuid4(), data.site_code, data.date_of_birth, data.sex
        )
        record = as_json(row)
        await conn.execute(INSERT_AUDIT, row["id"], json.dumps(record))
    return Response(
        json.dumps(record),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/participants/{record['id']}"},
    )


@app.get("/participants/{participant_id}")
async def read_participant(participant_id: uuid.UUID, request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        row = await conn.fetchrow(SELECT_ROW, participant_id)
    if row is None:
        raise HTTPException(404)
    record = as_json(row)
    return Response(json.dumps(record), media_type="application/json")
