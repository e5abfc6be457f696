"""Transaction-local audit context read by the `audit.log_change` trigger."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def set_reason(session: AsyncSession, reason: str) -> None:
    """The "why" of the next changes in this transaction (SET LOCAL semantics)."""
    await session.execute(text("SELECT set_config('trial.reason', :r, true)"), {"r": reason})


async def set_actor(session: AsyncSession, *, user_id: str, role: str, site: str | None) -> None:
    await session.execute(
        text(
            "SELECT set_config('trial.user_id', :u, true), set_config('trial.role', :r, true),"
            " set_config('trial.site', :s, true)"
        ),
        {"u": user_id, "r": role, "s": site or ""},
    )
