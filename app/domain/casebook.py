"""The canonical content of a participant's casebook: what an electronic signature signs.

A signature's manifest holds the SHA-256 of these bytes (21 CFR 11.50, 11.70: the signature
is linked to the records it signs). The definition, version `casebook-v1`:

* A JSON object `{"casebook": "casebook-v1", "participant_id": "<uuid>", "records": {...}}`,
  where `records` maps each clinical table (participants, screenings, consents,
  randomizations, outcomes, doses, visits, protocol_deviations, adverse_events, lab_results,
  treatments) to the list of the participant's rows, voided rows included (a void is a
  change too), each row sorted by `id`.
* A row is every column but the MRN's keyed hash and ciphertext (secrets that depend on key
  material, not clinical data), as `{column: value}`.
* Values: timestamps in UTC as ISO 8601 with `Z` (microseconds kept); dates ISO; UUIDs
  lower-case; decimals as their exact decimal text; bytes as lower-case hex; JSON columns as
  they are; NULL as null.
* Serialization: UTF-8, keys sorted, no whitespace (`separators=(",", ":")`), non-ASCII
  characters as themselves, no NaN or infinity.

Anyone holding the records (the ODM export has them, with the audit trail) can recompute it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

CANONICAL_VERSION = "casebook-v1"
CASEBOOK_TABLES = (
    "participants",
    "screenings",
    "consents",
    "randomizations",
    "outcomes",
    "doses",
    "visits",
    "protocol_deviations",
    "adverse_events",
    "lab_results",
    "treatments",
)
LEFT_OUT = frozenset({"mrn_hmac", "mrn_ciphertext"})

Row = Mapping[str, Any]


def plain(value: Any) -> Any:
    """One value as canonical JSON data."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _row(row: Row) -> dict[str, Any]:
    return {k: plain(v) for k, v in row.items() if k not in LEFT_OUT}


def canonical_casebook(participant_id: uuid.UUID, records: Mapping[str, Sequence[Row]]) -> bytes:
    """The casebook as canonical JSON bytes; every table of CASEBOOK_TABLES is present."""
    content = {
        "casebook": CANONICAL_VERSION,
        "participant_id": str(participant_id),
        "records": {
            table: sorted((_row(r) for r in records.get(table, ())), key=lambda r: str(r["id"]))
            for table in CASEBOOK_TABLES
        },
    }
    text = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def casebook_sha256(participant_id: uuid.UUID, records: Mapping[str, Sequence[Row]]) -> str:
    return hashlib.sha256(canonical_casebook(participant_id, records)).hexdigest()
