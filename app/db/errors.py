"""Database errors: how the HTTP layer classifies them, and how they may be logged.

A driver error's text can carry the data of the statement that failed: SQLAlchemy appends the
bound parameters (the engine sets `hide_parameters=True`), and PostgreSQL's own message or
DETAIL often quotes the value (`Key (code)=(GZ3) already exists`, `invalid input syntax for
type integer: "..."`). Logs get only the error's class, SQLSTATE and the names of the
constraint, table and column involved, and tracebacks of such errors carry frames only.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator

import asyncpg
from sqlalchemy import exc as sa_exc

# connection exceptions, insufficient resources ("too many clients"), operator intervention
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
# raised by the data-management triggers of migration 0013: each is a 409 whose detail is
# the trigger's own message (written by us, it quotes no client data but the participant id)
STUDY_LOCKED = "DL001"
CASEBOOK_LOCKED = "DL002"
SIGNATURE_IMMUTABLE = "DL003"
DATA_MANAGEMENT_SQLSTATES = frozenset({STUDY_LOCKED, CASEBOOK_LOCKED, SIGNATURE_IMMUTABLE})


def sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of a driver error, raised directly (the driver-connection paths) or
    wrapped by SQLAlchemy (the ORM paths)."""
    for candidate in (exc, getattr(exc, "orig", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if state:
            return str(state)
    return ""


def is_unavailable(exc: BaseException) -> bool:
    """The database went away or is full (restart, network, no connection slot, the pool
    exhausted): 503, the client may retry."""
    if isinstance(exc, OSError | ConnectionError | sa_exc.TimeoutError):
        return True
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.exceptions.ConnectionDoesNotExistError):
        return True
    if sqlstate(exc).startswith(UNAVAILABLE_SQLSTATE_CLASSES):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated
    return isinstance(exc, sa_exc.InterfaceError)


def data_management_refusal(exc: BaseException) -> str | None:
    """The explanation of a write refused by a lock trigger (or of a signature's change), or
    None when `exc` is anything else."""
    for link in _chain(exc):
        if sqlstate(link) not in DATA_MANAGEMENT_SQLSTATES:
            continue
        orig = getattr(link, "orig", None) or link
        driver_error = getattr(orig, "__cause__", None) or orig
        message = getattr(driver_error, "message", None) or getattr(link, "message", None)
        return str(message or "The data are locked")
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_database_error(exc: BaseException) -> bool:
    return isinstance(exc, sa_exc.StatementError) or hasattr(exc, "sqlstate")


def involves_the_database(exc: BaseException) -> bool:
    return any(_is_database_error(e) for e in _chain(exc))


def describe(exc: BaseException) -> str:
    """A log line for `exc` with no data in it: class, SQLSTATE and object names only."""
    for link in _chain(exc):
        if not _is_database_error(link):
            continue
        orig = getattr(link, "orig", None) or link
        driver_error = getattr(orig, "__cause__", None) or orig  # asyncpg's, under the adapter
        parts = [type(driver_error).__name__]
        state = sqlstate(link) or str(getattr(driver_error, "sqlstate", "") or "")
        if state:
            parts.append(f"SQLSTATE {state}")
        for attribute in ("constraint_name", "table_name", "column_name"):
            name = getattr(driver_error, attribute, None)
            if name:
                parts.append(f"{attribute.removesuffix('_name')} {name}")
        return ", ".join(parts)
    return type(exc).__name__


def frames_only(exc: BaseException) -> str:
    """The traceback of `exc` (and what caused it) without any exception message."""
    blocks = []
    for link in reversed(list(_chain(exc))):
        frames = "".join(traceback.format_tb(link.__traceback__))
        blocks.append(f"{type(link).__name__} raised at:\n{frames}")
    return "\n".join(blocks)
