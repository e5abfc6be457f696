"""LB (Laboratory Test Results): one record per non-voided lab result, whatever its source.

Every lab result of the service is exported once: those entered directly (api), received
from an EHR (fhir) and those a screening or visit stored (screening, visit). The value as
entered is LBORRES/LBORRESU (UCUM mapped to CDISC UNIT), the canonical value LBSTRESN/LBSTRESU
(SPEC §7 canonical units); LBLOINC is the analyte's LOINC code. The source is in SUPPLB.
LBLOBXFL marks, per test, the latest result collected at or before the start of exposure:
the first dose (exosome arm) or, without a dose, the randomization (no later than Day 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.domain.analytes import ANALYTES
from app.interop.cdisc import terminology as ct
from app.interop.cdisc.common import (
    ASSIGNED,
    COLLECTED,
    DERIVED,
    NOT_AVAILABLE,
    Domain,
    Row,
    Supp,
    Var,
    base_row,
    coded,
    decimal_text,
    dtc_local,
    epoch,
    local_date,
    ref,
    sequence,
    study_day,
)
from app.interop.cdisc.ie import SCREENING_VISIT
from app.interop.cdisc.records import LabResult, Participant, Study

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "LB"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("LBSEQ", DERIVED, "1, 2, ... per participant in LBDTC, LBTESTCD order", method="SEQ"),
    Var("LBTESTCD", ASSIGNED, "analyte key -> CDISC test code (terminology.LB_TESTS)", codelist="LBTESTCD"),
    Var("LBTEST", ASSIGNED, "the CDISC test name of LBTESTCD", codelist="LBTEST"),
    Var("LBCAT", ASSIGNED, "the analyte's category (LIVER, COAGULATION, INFLAMMATION, OTHER; app.domain.analytes)"),
    Var("LBORRES", COLLECTED, "value, as entered"),
    Var("LBORRESU", COLLECTED, "unit as entered (UCUM) -> CDISC UNIT; empty for a ratio (INR)", codelist="UNIT"),
    Var("LBORNRLO", NOT_AVAILABLE, "not collected (the service records only the upper limit): empty"),
    Var("LBORNRHI", COLLECTED, "reference_range_high, in the entered unit"),
    Var("LBSTRESC", DERIVED, "canonical_value as text", method="LBSTRES"),
    Var("LBSTRESN", DERIVED, "canonical_value (SPEC §7 canonical unit)", method="LBSTRES"),
    Var("LBSTRESU", DERIVED, "canonical_unit (UCUM) -> CDISC UNIT; empty for a ratio (INR)", codelist="UNIT", method="LBSTRES"),
    Var("LBSTNRLO", NOT_AVAILABLE, "not collected: empty"),
    Var("LBSTNRHI", DERIVED, "reference_range_high in the canonical unit", method="LBSTRES"),
    Var("LBNRIND", DERIVED, "HIGH when LBSTRESN > LBSTNRHI; else empty (no lower limit is recorded)", codelist="NRIND"),
    Var("LBLOINC", ASSIGNED, "loinc (the analyte's LOINC code for the canonical unit)"),
    Var("LBLOBXFL", DERIVED, "Y on the latest result per test at or before the first dose (else randomization)", codelist="NY", method="LOBXFL"),
    Var("VISITNUM", ASSIGNED, "screening: 0; visit: visit_day; direct results (api, fhir): empty"),
    Var("VISIT", ASSIGNED, "SCREENING, DAY <visit_day>, or empty"),
    Var("EPOCH", DERIVED, "SCREENING for screening results, else epoch of LBDTC", codelist="EPOCH", method="EPOCH"),
    Var("LBDTC", COLLECTED, "collected_at (site-local date and time)"),
    Var("LBDY", DERIVED, "study day of LBDTC", method="DY"),
)  # fmt: skip
SUPP_SOURCE = ("LBSOURCE", "Source of the Result")
_CODES = {key: code for key, (code, _) in ct.LB_TESTS.items()}
_NAMES = dict(ct.LB_TESTS.values())


def build(study: Study) -> Domain:
    rows: list[Row] = []
    supp: list[Supp] = []
    for p in study.participants:
        flagged = baseline_ids(p, p.lab_results)
        results = sorted(p.lab_results, key=lambda r: (r.collected_at, _testcd(r), str(r.id)))
        for r in results:
            index = len(rows)
            rows.append(_row(p, r, r.id in flagged))
            qnam, qlabel = SUPP_SOURCE
            supp.append(
                Supp(p.study_id, "LBSEQ", ref(index), qnam, qlabel, r.source.upper(), "Assigned")
            )
    return Domain("LB", VARIABLES, rows, sequence(rows, "LBSEQ", supp))


def _row(p: Participant, r: LabResult, baseline: bool) -> Row:
    code = coded(_CODES, r.analyte, "lab_results", r.id, "analyte")
    analyte = ANALYTES[r.analyte]
    on = local_date(r.collected_at, p.timezone)
    high = r.reference_range_high_canonical
    row = base_row("LB", p)
    row |= {
        "LBTESTCD": code,
        "LBTEST": _NAMES[code],
        "LBCAT": analyte.category.value.upper(),
        "LBORRES": decimal_text(r.value),
        "LBORRESU": unit(r.unit),
        "LBORNRLO": None,
        "LBORNRHI": decimal_text(r.reference_range_high)
        if r.reference_range_high is not None
        else None,
        "LBSTRESC": decimal_text(r.canonical_value),
        "LBSTRESN": float(r.canonical_value),
        "LBSTRESU": unit(r.canonical_unit),
        "LBSTNRLO": None,
        "LBSTNRHI": float(high) if high is not None else None,
        "LBNRIND": "HIGH" if high is not None and r.canonical_value > high else None,
        "LBLOINC": r.loinc,
        "LBLOBXFL": "Y" if baseline else None,
        "EPOCH": ct.EPOCH_SCREENING if r.source == "screening" else epoch(p, on),
        "LBDTC": dtc_local(r.collected_at, p.timezone),
        "LBDY": study_day(p, on),
    }
    row |= visit_of(r.source, r.visit_day)
    return row


def visit_of(source: str, visit_day: int | None) -> Row:
    if source == "screening":
        return {"VISITNUM": SCREENING_VISIT[0], "VISIT": SCREENING_VISIT[1]}
    if source == "visit" and visit_day is not None:
        return {"VISITNUM": float(visit_day), "VISIT": f"DAY {visit_day}"}
    return {"VISITNUM": None, "VISIT": None}


def unit(ucum: str) -> str | None:
    """A UCUM unit as its CDISC UNIT term; a ratio ("1") has none. A UCUM unit without a
    pinned term (any commensurable unit is accepted, SPEC §9.3) is kept as entered: UNIT is
    extensible, and define.xml marks it as a sponsor value."""
    if ucum in ct.UNITLESS:
        return None
    return ct.UNIT_FROM_UCUM.get(ucum, ucum)


def exposure_start(p: Participant) -> datetime | None:
    """The first dose's start; without a dose, the randomization, no later than the end of
    Day 1 at the site."""
    if p.doses:
        return min(d.started_at for d in p.doses)
    if p.allocation is None:
        return None
    day2 = p.allocation.day1 + timedelta(days=1)
    end_of_day1 = datetime.combine(day2, time(), ZoneInfo(p.timezone)) - timedelta(microseconds=1)
    return min(p.allocation.randomized_at, end_of_day1)


def baseline_ids(p: Participant, results: Iterable[LabResult]) -> set[object]:
    """The ids of the latest result per analyte at or before the start of exposure."""
    start = exposure_start(p)
    if start is None:
        return set()
    latest: dict[str, LabResult] = {}
    for r in results:
        if r.collected_at <= start:
            seen = latest.get(r.analyte)
            if seen is None or (r.collected_at, str(r.id)) > (seen.collected_at, str(seen.id)):
                latest[r.analyte] = r
    return {r.id for r in latest.values()}


def _testcd(r: LabResult) -> str:
    return _CODES.get(r.analyte, r.analyte)
