"""EX (Exposure): one record per dose of PT-MSCs Exosome Injection given (exosome arm).

Doses recorded as not administered are not exposure and are not in EX (SDTMIG 3.4 EX has no
EXOCCUR); the ODM export carries them with their reasons. The infused volume of normal saline
goes to SUPPEX (EXVAMT, mL): SDTMIG 3.4 EX has no vehicle-amount variable.
"""

from __future__ import annotations

from app.domain import protocol
from app.interop.cdisc import terminology as ct
from app.interop.cdisc.common import (
    ASSIGNED,
    COLLECTED,
    DERIVED,
    PROTOCOL,
    Domain,
    Row,
    Supp,
    Var,
    base_row,
    decimal_text,
    dtc_local,
    epoch,
    local_date,
    long_text,
    ref,
    sequence,
    study_day,
)
from app.interop.cdisc.records import Study

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "EX"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("EXSEQ", DERIVED, "1, 2, ... per participant in EXSTDTC order", method="SEQ"),
    Var("EXSPID", COLLECTED, "dose_number (1-4)"),
    Var("EXTRT", PROTOCOL, "PT-MSCs Exosome Injection"),
    Var("EXDOSE", COLLECTED, "particles (the measured particle count of the dose)"),
    Var("EXDOSU", ASSIGNED, "PARTICLES (sponsor unit: particle count)", codelist="UNIT"),
    Var("EXDOSFRM", PROTOCOL, "INJECTION", codelist="FRM"),
    Var("EXDOSFRQ", PROTOCOL, "ONCE (one infusion per record; the regimen Q3D is in TS)", codelist="FREQ"),
    Var("EXROUTE", PROTOCOL, "INTRAVENOUS", codelist="ROUTE"),
    Var("EXLOT", COLLECTED, "lot_number"),
    Var("EPOCH", DERIVED, "epoch of the start date", codelist="EPOCH", method="EPOCH"),
    Var("EXSTDTC", COLLECTED, "started_at (site-local date and time)"),
    Var("EXENDTC", COLLECTED, "ended_at (site-local date and time)"),
    Var("EXSTDY", DERIVED, "study day of EXSTDTC", method="DY"),
    Var("EXENDY", DERIVED, "study day of EXENDTC", method="DY"),
)  # fmt: skip
SUPP_VOLUME = ("EXVAMT", "Treatment Vehicle Amount (mL)")


def build(study: Study) -> Domain:
    rows: list[Row] = []
    supp: list[Supp] = []
    for p in study.participants:
        for d in sorted(p.doses, key=lambda d: d.started_at):
            start = local_date(d.started_at, p.timezone)
            row = base_row("EX", p)
            row |= {
                "EXSPID": str(d.dose_number),
                "EXTRT": protocol.PRODUCT_NAME,
                "EXDOSE": float(d.particles),
                "EXDOSU": ct.EX_DOSE_UNIT,
                "EXDOSFRM": ct.EX_DOSE_FORM,
                "EXDOSFRQ": ct.EX_FREQUENCY,
                "EXROUTE": ct.EX_ROUTE,
                "EPOCH": epoch(p, start),
                "EXSTDTC": dtc_local(d.started_at, p.timezone),
                "EXENDTC": dtc_local(d.ended_at, p.timezone),
                "EXSTDY": study_day(p, start),
                "EXENDY": study_day(p, local_date(d.ended_at, p.timezone)),
            }
            index = len(rows)
            long_text(
                row,
                "EXLOT",
                d.lot_number,
                index=index,
                seq_var="EXSEQ",
                label="Lot Number",
                supp=supp,
            )
            qnam, qlabel = SUPP_VOLUME
            supp.append(
                Supp(
                    p.study_id,
                    "EXSEQ",
                    ref(index),
                    qnam,
                    qlabel,
                    decimal_text(d.volume_ml),
                    COLLECTED,
                )
            )
            rows.append(row)
    return Domain("EX", VARIABLES, rows, sequence(rows, "EXSEQ", supp))
