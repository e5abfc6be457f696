"""SV (Subject Visits): the visits that took place.

- SCREENING (VISITNUM 0): from the first to the latest screening assessment.
- DAY 1 (VISITNUM 1): the randomization date (and, in the exosome arm, dose 1).
- DAY 4 ... DAY 84 (VISITNUM = visit_day): every non-voided visit record, on its visit_date.
Visits that did not take place (missed, or not applicable after a terminal event) are not
listed: the visit schedule of the API reports them; SVOCCUR is Y on every record.
"""

from __future__ import annotations

from datetime import date

from app.interop.cdisc.common import (
    ASSIGNED,
    COLLECTED,
    DERIVED,
    PROTOCOL,
    Domain,
    Row,
    Var,
    base_row,
    dtc,
    study_day,
)
from app.interop.cdisc.records import Participant, Study

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "SV"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("VISITNUM", ASSIGNED, "0 screening, 1 Day 1, else visit_day"),
    Var("VISIT", ASSIGNED, "SCREENING, DAY 1, DAY <visit_day>"),
    Var("SVPRESP", PROTOCOL, "Y: every listed visit is planned by the protocol", codelist="NY"),
    Var("SVOCCUR", DERIVED, "Y: only visits that took place are listed", codelist="NY"),
    Var("VISITDY", PROTOCOL, "the planned study day (empty for screening)"),
    Var("SVSTDTC", COLLECTED, "first screening assessment_date; randomization day1; visit_date"),
    Var("SVENDTC", COLLECTED, "latest screening assessment_date; day1; visit_date"),
    Var("SVSTDY", DERIVED, "study day of SVSTDTC", method="DY"),
    Var("SVENDY", DERIVED, "study day of SVENDTC", method="DY"),
)  # fmt: skip


def build(study: Study) -> Domain:
    rows: list[Row] = []
    for p in study.participants:
        rows += _rows(p)
    return Domain("SV", VARIABLES, rows)


def _rows(p: Participant) -> list[Row]:
    rows = []
    if p.screenings:
        dates = [s.assessment_date for s in p.screenings]
        rows.append(_row(p, 0, "SCREENING", None, min(dates), max(dates)))
    if p.allocation is not None:
        rows.append(_row(p, 1, "DAY 1", 1, p.allocation.day1, p.allocation.day1))
    for v in sorted(p.visits, key=lambda v: v.visit_day):
        rows.append(
            _row(p, v.visit_day, f"DAY {v.visit_day}", v.visit_day, v.visit_date, v.visit_date)
        )
    return rows


def _row(p: Participant, num: int, name: str, planned: int | None, start: date, end: date) -> Row:
    row = base_row("SV", p)
    row |= {
        "VISITNUM": float(num),
        "VISIT": name,
        "SVPRESP": "Y",
        "SVOCCUR": "Y",
        "VISITDY": float(planned) if planned is not None else None,
        "SVSTDTC": dtc(start),
        "SVENDTC": dtc(end),
        "SVSTDY": study_day(p, start),
        "SVENDY": study_day(p, end),
    }
    return row
