"""Standard medical treatment (SPEC §7): concomitant and prior medications, and procedures.

Every participant may have them (medications before randomization are prior/concomitant
medications too). Artificial liver support sessions (plasma exchange, DPMAS, ...) are the
category `artificial_liver_support` with the modality as `name`; being procedures, they carry
no ATC code. Dates: end >= start, neither in the future, neither after a recorded death.
"""

from __future__ import annotations

import re
from datetime import date

from app.domain.errors import FieldError

CATEGORIES: tuple[str, ...] = (
    "antiviral",
    "hepatoprotective",
    "albumin",
    "antibiotic",
    "artificial_liver_support",
    "other",
)
PROCEDURE_CATEGORIES = frozenset({"artificial_liver_support"})

# WHO ATC, levels 1-5: anatomical group (one of 14 letters), therapeutic subgroup (2 digits),
# pharmacological and chemical subgroups (a letter each), substance (2 digits): J05AF10.
ATC_PATTERN = re.compile(r"[ABCDGHJLMNPRSV](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?")
ATC_FORMAT = "a WHO ATC code of level 1-5 in capitals, e.g. J, J05, J05A, J05AF or J05AF10"


def treatment_problems(
    *,
    category: str,
    start_date: date,
    end_date: date | None,
    atc_code: str | None,
    today: date,
    death_date: date | None,
) -> list[FieldError]:
    """Every reason the treatment record cannot be right, each naming its field."""
    errors = _date_problems("start_date", start_date, today, death_date)
    if end_date is not None:
        errors += _date_problems("end_date", end_date, today, death_date)
        if end_date < start_date:
            errors.append(FieldError("end_date", "must not be before start_date"))
    if atc_code is not None:
        errors += _atc_problems(category, atc_code)
    return errors


def _date_problems(field: str, day: date, today: date, death_date: date | None) -> list[FieldError]:
    errors = []
    if day > today:
        errors.append(FieldError(field, "must not be in the future"))
    if death_date is not None and day > death_date:
        errors.append(FieldError(field, f"is after the recorded death ({death_date.isoformat()})"))
    return errors


def _atc_problems(category: str, atc_code: str) -> list[FieldError]:
    if category in PROCEDURE_CATEGORIES:
        return [FieldError("atc_code", "artificial liver support is a procedure: no ATC code")]
    if ATC_PATTERN.fullmatch(atc_code) is None:
        return [FieldError("atc_code", f"must be {ATC_FORMAT}")]
    return []
