"""PR (Procedures): artificial liver support sessions and liver transplantations.

Artificial liver support (plasma exchange, DPMAS, ...) is recorded as standard medical
treatment of category artificial_liver_support with the modality as its name (SPEC §7). A
liver transplantation is recorded as an outcome (SPEC §2.2); it is a procedure too, so it
appears here as well as in DS (OTHER EVENT).
"""

from __future__ import annotations

from datetime import date

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
from app.interop.cdisc.records import Participant, Study

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "PR"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("PRSEQ", DERIVED, "1, 2, ... per participant in PRSTDTC order", method="SEQ"),
    Var("PRTRT", COLLECTED, "artificial liver support: the treatment's name (the modality); transplant: LIVER TRANSPLANTATION"),
    Var("PRCAT", ASSIGNED, "ARTIFICIAL LIVER SUPPORT or LIVER TRANSPLANTATION", codelist="PRCAT"),
    Var("EPOCH", DERIVED, "epoch of PRSTDTC", codelist="EPOCH", method="EPOCH"),
    Var("PRSTDTC", COLLECTED, "start_date; the liver_transplant outcome's date"),
    Var("PRENDTC", COLLECTED, "end_date; empty for a transplantation"),
    Var("PRSTDY", DERIVED, "study day of PRSTDTC", method="DY"),
    Var("PRENDY", DERIVED, "study day of PRENDTC", method="DY"),
)  # fmt: skip
TRANSPLANTATION = "LIVER TRANSPLANTATION"


def build(study: Study) -> Domain:
    rows: list[Row] = []
    supp: list[Supp] = []
    for p in study.participants:
        for start, end, name, cat in sorted(_procedures(p), key=lambda x: (x[0], x[2])):
            row = base_row("PR", p)
            row |= {
                "PRCAT": cat,
                "EPOCH": epoch(p, start),
                "PRSTDTC": dtc(start),
                "PRENDTC": dtc(end),
                "PRSTDY": study_day(p, start),
                "PRENDY": study_day(p, end),
            }
            label = "Reported Name of Procedure"
            long_text(row, "PRTRT", name, index=len(rows), seq_var="PRSEQ", label=label, supp=supp)
            rows.append(row)
    return Domain("PR", VARIABLES, rows, sequence(rows, "PRSEQ", supp))


def _procedures(p: Participant) -> list[tuple[date, date | None, str, str]]:
    found = [
        (t.start_date, t.end_date, t.name, ct.PR_ARTIFICIAL_LIVER)
        for t in p.treatments
        if t.category in PROCEDURE_CATEGORIES
    ]
    found += [
        (o.outcome_date, None, TRANSPLANTATION, ct.PR_TRANSPLANT_CAT)
        for o in p.outcomes
        if o.type == "liver_transplant"
    ]
    return found
