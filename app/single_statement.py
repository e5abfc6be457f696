"""Operations that run one SQL statement, and so need no transaction of their own.

The middleware opens a transaction for every request (BEGIN ... COMMIT: two round trips of
the four a simple request pays). An operation whose service runs a single statement - a read,
a list, an enrolment's one INSERT - gets the same atomicity from PostgreSQL without them: a
lone statement is its own transaction, committed before its answer returns. Marking the
endpoint `@single_statement` is that promise; `RequestDb.atomic()` (called by the ORM session
and by any service path that writes more) opens the transaction after all when a request
needs it. Requests with an Idempotency-Key always run in a transaction (the key's row
commits with the write), and so does everything behind PgBouncer (the connection's role is
not the app role there: app/db/engine.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import compile_path
from starlette.types import Scope

F = TypeVar("F", bound=Callable[..., Any])
MARK = "__single_statement__"


def single_statement(endpoint: F) -> F:
    """Declare that the endpoint's service runs at most one writing statement, which carries
    its own audit context (app/db/audit_context.py), plus any number of reads."""
    setattr(endpoint, MARK, True)
    return endpoint


class SingleStatementRoutes:
    """The (method, path) pairs of the marked endpoints, matched before routing."""

    def __init__(self, routers: Iterable[APIRouter]) -> None:
        self._routes: list[tuple[frozenset[str], re.Pattern[str]]] = []
        for router in routers:
            for route in router.routes:
                if isinstance(route, APIRoute) and getattr(route.endpoint, MARK, False):
                    regex, _, _ = compile_path(route.path)
                    self._routes.append((frozenset(route.methods or ()), regex))

    def __len__(self) -> int:
        return len(self._routes)

    def matches(self, scope: Scope) -> bool:
        method, path = scope["method"], scope["path"]
        return any(method in methods and regex.match(path) for methods, regex in self._routes)
