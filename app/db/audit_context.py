"""Transaction-local audit context read by the `audit.log_change` trigger."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import CTE, String, bindparam, func, literal_column, select, text, true
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


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Who is acting in this request, as the audit trigger reads it (`trial.*` settings).

    A request inside a transaction sets it once, in the statement that authenticates the
    token (app/request_auth.py). A single-statement request runs without a transaction of
    its own, so a setting made by one statement ends with it: its one write carries the
    context itself (`audit_context_cte`), and anything more opens a transaction that sets it
    again (`RequestDb.atomic`).
    """

    request_id: str
    user_id: str = ""
    role: str = ""
    site: str = ""

    def params(self) -> dict[str, str]:
        """The bound values of `audit_context_cte` and `SET_CONTEXT_SQL`."""
        return {f"audit_{key}": getattr(self, key) for key in CONTEXT_KEYS}


CONTEXT_KEYS = ("request_id", "user_id", "role", "site")

SET_CONTEXT_SQL = "SELECT " + ", ".join(
    f"set_config('trial.{key}', ${n}, true)" for n, key in enumerate(CONTEXT_KEYS, start=1)
)


def audit_context_cte() -> CTE:
    """`WITH audit_context AS MATERIALIZED (SELECT set_config(...), ...)`: a statement that
    selects FROM it sets the context before it writes its first row, so the AFTER triggers
    that write the audit rows see it. MATERIALIZED: evaluated once, never inlined away."""
    settings = [
        func.set_config(
            literal_column(f"'trial.{key}'"), bindparam(f"audit_{key}", type_=String()), true()
        ).label(key)
        for key in CONTEXT_KEYS
    ]
    return select(*settings).cte("audit_context").prefix_with("MATERIALIZED")
