"""Liveness and readiness (no auth): for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.problems import error_responses, problem_response
from app.services.health import database_ready

router = APIRouter(tags=["health"])


@router.get("/health", responses=error_responses())
async def get_health() -> dict[str, str]:
    """The process is alive (does not touch the database)."""
    return {"status": "ok"}


@router.get("/ready", responses=error_responses(503))
async def get_readiness(request: Request) -> JSONResponse:
    """The database answers (to the app role) and its schema is at the latest migration."""
    state = request.app.state
    at_head = await database_ready(state.engine, state.settings.db_app_role)
    if at_head is None:
        return problem_response(503, "The database is unreachable", headers={"Retry-After": "1"})
    if not at_head:
        return problem_response(503, "Database migrations are not at head")
    return JSONResponse({"status": "ready", "database": "ok", "migrations": "head"})
