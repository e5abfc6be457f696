"""The pure parts of data management: the canonical casebook, the query life cycle and the
plausibility check (SPEC §13)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.domain import data_queries as rules
from app.domain.casebook import CASEBOOK_TABLES, canonical_casebook, casebook_sha256
from app.domain.errors import StateConflict

PID = uuid.UUID("11111111-1111-1111-1111-111111111111")
A = uuid.UUID("00000000-0000-0000-0000-00000000000a")
B = uuid.UUID("00000000-0000-0000-0000-00000000000b")


def _records(**changes: object) -> dict[str, list[dict[str, object]]]:
    visit = {
        "id": B,
        "participant_id": PID,
        "visit_date": date(2026, 1, 4),
        "created_at": datetime(2026, 1, 4, 9, 30, tzinfo=UTC),
        "labs": {"inr": {"value": "1.6", "unit": "1"}},
        "he_grade": 1,
    }
    visit.update(changes)
    return {
        "participants": [
            {"id": PID, "sex": "female", "mrn_hmac": b"\x01", "mrn_ciphertext": b"\x02"}
        ],
        "visits": [visit, {"id": A, "participant_id": PID, "he_grade": 0}],
        "lab_results": [{"id": A, "value": Decimal("1.50"), "canonical_value": Decimal("25.65")}],
    }


def test_the_canonical_form_is_sorted_compact_utc_and_leaves_secrets_out():
    text = canonical_casebook(PID, _records()).decode()
    assert text.startswith('{"casebook":"casebook-v1","participant_id":"1111')
    assert " " not in text.replace("2026-01-04", "")
    assert '"created_at":"2026-01-04T09:30:00Z"' in text
    assert '"value":"1.50"' in text
    assert "mrn" not in text
    assert text.index(str(A)) < text.index(str(B))  # rows sorted by id
    for table in CASEBOOK_TABLES:
        assert f'"{table}":' in text


def test_the_hash_does_not_depend_on_row_order_or_time_zone_but_on_every_value():
    records = _records()
    digest = casebook_sha256(PID, records)
    assert digest == hashlib.sha256(canonical_casebook(PID, records)).hexdigest()
    shuffled = {k: list(reversed(v)) for k, v in records.items()}
    assert casebook_sha256(PID, shuffled) == digest
    shanghai = timezone(timedelta(hours=8))
    same_instant = _records(created_at=datetime(2026, 1, 4, 17, 30, tzinfo=shanghai))
    assert casebook_sha256(PID, same_instant) == digest
    assert casebook_sha256(PID, _records(he_grade=2)) != digest


def test_the_query_life_cycle():
    assert rules.after_response("open") == "answered"
    assert rules.after_response("answered") == "answered"
    assert rules.after_close("answered") == "closed"
    assert rules.after_reopen("closed") == "open"
    assert rules.after_reopen("answered") == "open"
    for step, status in [
        (rules.after_response, "closed"),
        (rules.after_close, "closed"),
        (rules.after_reopen, "open"),
    ]:
        with pytest.raises(StateConflict):
            step(status)


@pytest.mark.parametrize(
    ("analyte", "value", "raised"),
    [
        ("total_bilirubin", "250", False),
        ("total_bilirubin", "1200", False),
        ("total_bilirubin", "2500", True),
        ("albumin", "9.9", True),
        ("inr", "1.5", False),
        ("crp", "900", False),  # no plausible range defined: never queried
    ],
)
def test_the_plausibility_check(analyte, value, raised):
    text = rules.implausible(analyte, Decimal(value), "unit")
    assert (text is not None) is raised
    if raised:
        assert "plausible range" in text


def test_every_query_resource_names_a_casebook_table():
    assert set(rules.RESOURCE_TABLES.values()) <= set(CASEBOOK_TABLES)
