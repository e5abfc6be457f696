"""Writes that must commit even though the request fails.

The middleware rolls back every request that answers 4xx. A failed password check is the
exception: its record in `login_throttle` is what makes the lockout work, so the code that
writes it marks the session, and the middleware then commits. Mark a session only when the
request has written nothing else (check passwords before any other write).
"""

from __future__ import annotations

from typing import Any, Protocol

_COMMIT_ON_ERROR = "commit_on_error"


class _HasInfo(Protocol):
    @property
    def info(self) -> dict[str, Any]: ...


def commit_even_if_the_request_fails(db: _HasInfo) -> None:
    """`db`: the request's ORM session or its RequestDb (they share one `info`)."""
    db.info[_COMMIT_ON_ERROR] = True


def must_commit_on_error(db: _HasInfo) -> bool:
    return bool(db.info.get(_COMMIT_ON_ERROR, False))
