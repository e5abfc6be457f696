"""Data queries (SPEC §13): their life cycle, the records they point at, and the one check
the service raises by itself (a laboratory value outside the plausible range).

Life cycle: `open` → (a site answers) `answered` → (the monitor) `closed`; the monitor may
re-open an answered or closed query (`open` again). A correction may answer an open or
answered query; nothing but re-opening happens to a closed one.
"""

from __future__ import annotations

from decimal import Decimal

from app.domain.errors import StateConflict

# resource name (API) → clinical table
RESOURCE_TABLES = {
    "visit": "visits",
    "dose": "doses",
    "adverse_event": "adverse_events",
    "screening": "screenings",
    "lab_result": "lab_results",
    "outcome": "outcomes",
    "treatment": "treatments",
}
RESOURCES = tuple(RESOURCE_TABLES)
STATUSES = ("open", "answered", "closed")

# Plausible ranges in canonical units (SPEC §7): a value outside is not refused (it may be
# real) but raises an automatic query for the site to confirm or correct. Wide on purpose:
# they catch unit and typing errors (bilirubin 2500 µmol/L typed for 250), not disease.
PLAUSIBLE_RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "total_bilirubin": (Decimal("1"), Decimal("1200")),  # umol/L
    "direct_bilirubin": (Decimal("0"), Decimal("900")),  # umol/L
    "albumin": (Decimal("10"), Decimal("60")),  # g/L
    "inr": (Decimal("0.7"), Decimal("12")),
    "pta": (Decimal("5"), Decimal("150")),  # %
    "creatinine": (Decimal("15"), Decimal("2000")),  # umol/L
    "sodium": (Decimal("100"), Decimal("180")),  # mmol/L
    "hemoglobin": (Decimal("30"), Decimal("220")),  # g/L
    "platelets": (Decimal("1"), Decimal("1500")),  # 10*9/L
    "alt": (Decimal("1"), Decimal("15000")),  # U/L
    "ast": (Decimal("1"), Decimal("20000")),  # U/L
}


def implausible(analyte: str, canonical_value: Decimal, unit: str) -> str | None:
    """The text of an automatic query when the value is outside its plausible range."""
    bounds = PLAUSIBLE_RANGES.get(analyte)
    if bounds is None or bounds[0] <= canonical_value <= bounds[1]:
        return None
    low, high = bounds
    return (
        f"{analyte} {canonical_value} {unit} is outside the plausible range {low}-{high}"
        f" {unit}: please confirm against the source or correct it"
    )


def after_response(status: str) -> str:
    if status == "closed":
        raise StateConflict("The query is closed; the monitor may re-open it")
    return "answered"


def after_close(status: str) -> str:
    if status == "closed":
        raise StateConflict("The query is already closed")
    return "closed"


def after_reopen(status: str) -> str:
    if status == "open":
        raise StateConflict("The query is already open")
    return "open"
