"""Who is calling: the bearer token's user, the audit actor and the app role, in one query.

The same statement that finds the token also sets the transaction-local audit context and
switches to DB_APP_ROLE, so authenticated requests pay one round trip for all three. Requests
without a valid token (login, a bad token) switch role in the request-id statement. It runs
on the driver connection, so a revoked token or a deactivated user is refused by the very next
request in every worker, with one exception for two reads.

The one exception is `TokenCache`: a read that runs as a single statement (the participant
read and list) may reuse a token check made up to `TOKEN_CACHE_SECONDS` (at most 1 s) earlier
in the same worker, which saves half of that read's round trips (issue 16). A revocation made
in the same worker empties its cache at once (RequestContextMiddleware); in other workers it
acts on reads within that second. Writes never use the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from app.auth import Principal
from app.security import token_digest

TOKEN_LAST_USED_RESOLUTION_S = 60
TOKEN_CACHE_MAX_ENTRIES = 1024  # live tokens per worker; more are checked in the database

AUTH_SQL = """
    SELECT u.id, u.username, u.role, u.site_id, s.code AS site_code, t.id AS token_id, t.scopes,
           t.expires_at,
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


@dataclass(frozen=True)
class _Checked:
    principal: Principal
    # on the cache's monotonic clock: `seconds` after the check, or the token's expiry if sooner
    fresh_until: float


class TokenCache:
    """Principals of tokens checked in the database in the last `seconds`, for reads only.

    Keyed by the token's digest (never the token). An entry is used until `seconds` after its
    check and never past the token's own expiry; `seconds = 0` turns the cache off.
    """

    def __init__(
        self,
        seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = TOKEN_CACHE_MAX_ENTRIES,
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[bytes, _Checked] = {}

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    def get(self, digest: bytes) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if self._clock() >= entry.fresh_until:
            del self._entries[digest]
            return None
        return entry.principal

    def put(self, digest: bytes, principal: Principal, token_expires_at: datetime) -> None:
        if not self.enabled:
            return
        if len(self._entries) >= self._max_entries:
            self._drop_stale()
        if len(self._entries) < self._max_entries:
            now = self._clock()
            expires_in = (token_expires_at - datetime.now(UTC)).total_seconds()
            self._entries[digest] = _Checked(principal, now + min(self.seconds, expires_in))

    def clear(self) -> None:
        """Forget every check: a revocation or an account change was just committed here."""
        self._entries.clear()

    def _drop_stale(self) -> None:
        now = self._clock()
        for digest in [d for d, e in self._entries.items() if now >= e.fresh_until]:
            del self._entries[digest]


def bearer_token(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authenticate(
    conn: asyncpg.Connection,
    authorization: str,
    request_id: str,
    app_role: str,
    cache: TokenCache | None = None,
) -> Principal | None:
    """The caller, or None; either way the transaction runs as `app_role` afterwards.

    `cache` is given only for a single-statement read, whose connection is already in the app
    role and needs no audit context: a recent check of the same token answers it.
    """
    token = bearer_token(authorization)
    row = None
    if token is not None:
        digest = token_digest(token)
        if cache is not None and (cached := cache.get(digest)) is not None:
            return cached
        row = await conn.fetchrow(
            AUTH_SQL, digest, TOKEN_LAST_USED_RESOLUTION_S, request_id, app_role
        )
    if row is None:
        await conn.execute(ANONYMOUS_SQL, request_id, app_role)
        return None
    if row["stale"]:
        # no audit row (log_change skips token bookkeeping), so no audit context needed
        await conn.execute(TOUCH_SQL, row["token_id"])
    scopes = frozenset(row["scopes"]) if row["scopes"] is not None else None  # client tokens
    principal = Principal(
        row["id"],
        row["username"],
        row["role"],
        row["site_id"],
        row["site_code"],
        row["token_id"],
        scopes,
    )
    if cache is not None:
        cache.put(digest, principal, row["expires_at"])
    return principal
