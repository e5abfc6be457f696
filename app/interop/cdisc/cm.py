"""CM (Concomitant/Prior Medications): standard medical treatment given as drugs (SPEC §7).

Every non-voided treatment except artificial liver support sessions (which are procedures:
PR). Drug coding (WHODrug) is not done by the service: CMDECOD stays out; the WHO ATC code the
site gave is CMCLASCD. The dose is free text (CMDOSTXT); a route the site wrote as a common
name or abbreviation (oral, PO, IV, ...) becomes its C66729 term, other text is kept as written.
"""

from __future__ import annotations

from app.domain.treatments import PROCEDURE_CATEGORIES
from app.interop.cdisc import terminology as ct
from app.interop.cdisc.common import (
    ASSIGNED,
    COLLECTED,
    DERIVED,
    Domain,
    Row,
    Supp,
    Var,
    base_row,
    dtc,
    epoch,
    long_text,
    sequence,
    study_day,
)
from app.interop.cdisc.records import Study

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "CM"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("CMSEQ", DERIVED, "1, 2, ... per participant in CMSTDTC order", method="SEQ"),
    Var("CMTRT", COLLECTED, "name"),
    Var("CMCAT", COLLECTED, "category in capitals (ANTIVIRAL, HEPATOPROTECTIVE, ALBUMIN, ANTIBIOTIC, OTHER)", codelist="CMCAT"),
    Var("CMCLASCD", COLLECTED, "atc_code (WHO ATC, level 1-5)"),
    Var("CMDOSTXT", COLLECTED, "dose (free text)"),
    Var("CMROUTE", COLLECTED, "route: common names -> C66729 terms (terminology.ROUTE_FROM_TEXT), other text as written", codelist="ROUTE"),
    Var("EPOCH", DERIVED, "epoch of CMSTDTC", codelist="EPOCH", method="EPOCH"),
    Var("CMSTDTC", COLLECTED, "start_date"),
    Var("CMENDTC", COLLECTED, "end_date (empty while ongoing)"),
    Var("CMSTDY", DERIVED, "study day of CMSTDTC", method="DY"),
    Var("CMENDY", DERIVED, "study day of CMENDTC", method="DY"),
)  # fmt: skip


def build(study: Study) -> Domain:
    rows: list[Row] = []
    supp: list[Supp] = []
    for p in study.participants:
        drugs = [t for t in p.treatments if t.category not in PROCEDURE_CATEGORIES]
        for t in sorted(drugs, key=lambda t: (t.start_date, t.name, str(t.id))):
            index = len(rows)
            row = base_row("CM", p)
            row |= {
                "CMCAT": t.category.upper(),
                "CMCLASCD": t.atc_code,
                "CMROUTE": route(t.route),
                "EPOCH": epoch(p, t.start_date),
                "CMSTDTC": dtc(t.start_date),
                "CMENDTC": dtc(t.end_date),
                "CMSTDY": study_day(p, t.start_date),
                "CMENDY": study_day(p, t.end_date),
            }
            for variable, text, label in (
                ("CMTRT", t.name, "Reported Name of Drug"),
                ("CMDOSTXT", t.dose, "Dose Description"),
            ):
                long_text(row, variable, text, index=index, seq_var="CMSEQ", label=label, supp=supp)
            rows.append(row)
    return Domain("CM", VARIABLES, rows, sequence(rows, "CMSEQ", supp))


def route(text: str | None) -> str | None:
    if text is None:
        return None
    return ct.ROUTE_FROM_TEXT.get(text.strip().lower(), text)
