"""The layering of the brief, held by a test: routers are HTTP only (they call services, never
repositories or models) and the domain is pure (no I/O, no framework)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def offending(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    bad: dict[str, list[str]] = {}
    for path in sorted((APP / folder).rglob("*.py")):
        hits = sorted(m for m in imported_modules(path) if m.startswith(forbidden))
        if hits:
            bad[str(path.relative_to(APP.parent))] = hits
    return bad


def test_routers_never_reach_the_database_layer():
    assert offending("routers", ("app.db", "sqlalchemy", "asyncpg")) == {}


def test_the_domain_is_pure():
    io = ("app.db", "app.services", "app.routers", "sqlalchemy", "asyncpg", "fastapi", "httpx")
    assert offending("domain", io) == {}
