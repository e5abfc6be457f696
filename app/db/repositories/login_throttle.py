"""Failed logins per key (`user:<username>`, `addr:<client address>`), kept in PostgreSQL.

One row per key holds the times of its recent failures (a sliding window) and, once a limit
is reached, when the lockout ends. Rows are only inserted and updated (the app role may not
delete): old failures fall out of the array as it is rewritten.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

LOCKED_SQL = text(
    "SELECT EXTRACT(EPOCH FROM max(locked_until) - now()) FROM login_throttle"
    " WHERE key = ANY(CAST(:keys AS text[])) AND locked_until > now()"
)

RECORD_SQL = text(
    """
    INSERT INTO login_throttle AS t (key, failures, locked_until, updated_at)
    SELECT k, ARRAY[now()], CASE WHEN m <= 1 THEN now() + make_interval(secs => :lock) END,
           now()
    FROM unnest(CAST(:keys AS text[]), CAST(:limits AS integer[])) AS u(k, m)
    ON CONFLICT (key) DO UPDATE SET
      failures = array_append(
        ARRAY(SELECT f FROM unnest(t.failures) AS f
              WHERE f > now() - make_interval(secs => :window)), now()),
      locked_until = CASE
        WHEN cardinality(ARRAY(SELECT f FROM unnest(t.failures) AS f
                               WHERE f > now() - make_interval(secs => :window))) + 1
             >= (SELECT m FROM unnest(CAST(:keys AS text[]), CAST(:limits AS integer[]))
                 AS u(k, m) WHERE u.k = t.key)
        THEN now() + make_interval(secs => :lock)
        ELSE t.locked_until END,
      updated_at = now()
    """
)


async def seconds_locked(session: AsyncSession, keys: Sequence[str]) -> int | None:
    """Whole seconds until the last lockout among `keys` ends, or None when none is locked."""
    remaining = await session.scalar(LOCKED_SQL, {"keys": list(keys)})
    return None if remaining is None else max(1, math.ceil(float(remaining)))


async def record_failure(
    session: AsyncSession,
    limits: Sequence[tuple[str, int]],
    window_seconds: int,
    lockout_seconds: int,
) -> None:
    """One more failure for each key; a key reaching its limit within the window locks."""
    await session.execute(
        RECORD_SQL,
        {
            "keys": [k for k, _ in limits],
            "limits": [m for _, m in limits],
            "window": window_seconds,
            "lock": lockout_seconds,
        },
    )


async def clear(session: AsyncSession, key: str) -> None:
    await session.execute(
        text("UPDATE login_throttle SET failures = '{}', updated_at = now() WHERE key = :k"),
        {"k": key},
    )
