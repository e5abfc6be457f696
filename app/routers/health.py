"""Liveness and readiness (no auth): for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.db.migrate import migrations_at_head
from app.problems import error_responses, problem_response

router = APIRouter(tags=["health"])


@router.get("/health", responses=error_responses())
async def health() -> dict[str, str]:
    """The process is alive (does not touch the database)."""
    return {"status": "ok"}


@router.get("/ready", responses=error_responses(503))
async def ready(request: Request) -> JSONResponse:
    """The database answers and its schema is at the latest migration."""
    engine = request.app.state.engine
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        at_head = await migrations_at_head(engine)
    except Exception:  # any failure to reach the database means "not ready"
        return problem_response(503, "The database is unreachable", headers={"Retry-After": "1"})
    if not at_head:
        return problem_response(503, "Database migrations are not at head")
    return JSONResponse({"status": "ready", "database": "ok", "migrations": "head"})
