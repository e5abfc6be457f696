"""The hand-written SQL of the hot paths names only columns the models have.

The driver-connection statements (app/db/repositories/*_rows.py, the auth and idempotency
statements) are text: nothing would notice a column renamed in a model and a migration but not
here until a request failed. This test reads every INSERT column list and every `alias.column`
reference of a known table alias out of them and checks it against the mapped tables, without
a database.
"""

from __future__ import annotations

import re

import pytest

from app import idempotency, request_auth
from app.db.models import Base
from app.db.repositories import (
    context_rows,
    dose_rows,
    participant_rows,
    screening_rows,
    visit_rows,
)

MODULES = (context_rows, dose_rows, participant_rows, screening_rows, visit_rows)
STATEMENTS = [
    (module.__name__, name, value)
    for module in (*MODULES, request_auth, idempotency)
    for name, value in vars(module).items()
    if name.isupper() and isinstance(value, str) and re.search(r"\b(SELECT|INSERT|UPDATE)\b", value)
]
# the aliases the statements use for their tables
ALIASES = {
    "p": "participants",
    "s": "sites",
    "r": "randomizations",
    "t": "api_tokens",
    "u": "users",
}
INSERT = re.compile(r"INSERT INTO (\w+)\s*\(([^)]*)\)", re.S)
UPDATE_SET = re.compile(r"UPDATE (\w+) SET (.*?)(?:\bFROM\b|\bWHERE\b)", re.S)
QUALIFIED = re.compile(r"\b([a-z])\.([a-z_]+)\b")


def columns(table: str) -> set[str]:
    return set(Base.metadata.tables[table].c.keys())


def test_there_are_statements_to_check():
    assert len(STATEMENTS) >= 10


@pytest.mark.parametrize(("module", "name", "sql"), STATEMENTS)
def test_inserted_and_updated_columns_exist(module, name, sql):
    for table, listed in INSERT.findall(sql):
        wanted = {c.strip() for c in listed.split(",")}
        assert wanted <= columns(table), (module, name, wanted - columns(table))
    for table, assignments in UPDATE_SET.findall(sql):
        wanted = {a.split("=")[0].strip() for a in assignments.split(",")}
        assert wanted <= columns(table), (module, name, wanted - columns(table))


@pytest.mark.parametrize(("module", "name", "sql"), STATEMENTS)
def test_qualified_columns_exist(module, name, sql):
    for alias, column in QUALIFIED.findall(sql):
        if alias in ALIASES and column != "total":
            assert column in columns(ALIASES[alias]), (module, name, alias, column)


@pytest.mark.parametrize(
    ("names", "table"),
    [
        (screening_rows.RESULT_COLUMNS, "lab_results"),
        (visit_rows.RESULT_COLUMNS, "lab_results"),
        (dose_rows.COLUMNS, "doses"),
    ],
)
def test_column_tuples_exist(names, table):
    assert set(names) <= columns(table)
