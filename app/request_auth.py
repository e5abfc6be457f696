"""Who is calling: the bearer token's user, the audit actor and the app role, in one query.

The same statement that finds the token also sets the transaction-local audit context and
switches to DB_APP_ROLE, so authenticated requests pay one round trip for all three. Requests
without a valid token (login, a bad token) switch role in the request-id statement. It runs
on the driver connection: no token cache, so a revoked token or a deactivated user is
refused by the very next request, in every worker.
"""

from __future__ import annotations

import asyncpg

from app.auth import Principal
from app.security import token_digest

TOKEN_LAST_USED_RESOLUTION_S = 60

AUTH_SQL = """
    SELECT u.id, u.username, u.role, u.site_id, s.code AS site_code, t.id AS token_id, t.scopes,
           t.last_used_at < now() - make_interval(secs => $2)
             OR t.last_used_at IS NULL AS stale,
           set_config('trial.request_id', $3, true),
           set_config('trial.user_id', u.id::text, true),
           set_config('trial.role', u.role, true),
           set_config('trial.site', COALESCE(s.code, ''), true),
           set_config('role', $4, true)
    FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN sites s ON s.id = u.site_id
    WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND u.active
"""

ANONYMOUS_SQL = "SELECT set_config('trial.request_id', $1, true), set_config('role', $2, true)"
TOUCH_SQL = "UPDATE api_tokens SET last_used_at = now() WHERE id = $1"


def bearer_token(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authenticate(
    conn: asyncpg.Connection, authorization: str, request_id: str, app_role: str
) -> Principal | None:
    """The caller, or None; either way the transaction runs as `app_role` afterwards."""
    token = bearer_token(authorization)
    row = None
    if token is not None:
        row = await conn.fetchrow(
            AUTH_SQL, token_digest(token), TOKEN_LAST_USED_RESOLUTION_S, request_id, app_role
        )
    if row is None:
        await conn.execute(ANONYMOUS_SQL, request_id, app_role)
        return None
    if row["stale"]:
        # no audit row (log_change skips token bookkeeping), so no audit context needed
        await conn.execute(TOUCH_SQL, row["token_id"])
    scopes = frozenset(row["scopes"]) if row["scopes"] is not None else None  # client tokens
    return Principal(
        row["id"],
        row["username"],
        row["role"],
        row["site_id"],
        row["site_code"],
        row["token_id"],
        scopes,
    )
