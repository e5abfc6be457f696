"""Writes that must commit even though the request fails.

The middleware rolls back every request that answers 4xx. A failed password check is the
exception: its record in `login_throttle` is what makes the lockout work, so the code that
writes it marks the session, and the middleware then commits. Mark a session only when the
request has written nothing else (check passwords before any other write).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

_COMMIT_ON_ERROR = "commit_on_error"


def commit_even_if_the_request_fails(session: AsyncSession) -> None:
    session.info[_COMMIT_ON_ERROR] = True


def must_commit_on_error(session: AsyncSession) -> bool:
    return bool(session.info.get(_COMMIT_ON_ERROR, False))
