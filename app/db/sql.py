"""SQL for the driver connection, compiled once from the models.

The hot paths run statements on asyncpg directly (app/db/request_db.py). Statements built with
SQLAlchemy Core from the mapped tables are compiled ONCE, at import, to asyncpg's positional
SQL (`$1, $2, ...`), so the schema keeps one source of truth (the models and their
migrations) while a request pays no statement building, no cache-key work and no ORM flush.
Values go in as the driver takes them: uuid.UUID, date, datetime, Decimal, and JSON as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql.expression import Executable

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class Sql:
    """A compiled statement: its text and the names of its parameters, in order."""

    text: str
    names: tuple[str, ...]

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional arguments; a missing value is a programming error (KeyError)."""
        return [values[name] for name in self.names]


def compile_sql(statement: Executable) -> Sql:
    compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
    return Sql(str(compiled), tuple(compiled.positiontup or ()))
