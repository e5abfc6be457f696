"""DV (Protocol Deviations): one record per non-voided deviation of a non-voided dose or visit.

A deviation is recorded by the service with the off-protocol dose or visit it belongs to
(SPEC §2.4, §2.5): its rule and what the record did instead make DVTERM, its kind DVDECOD,
the record's date DVSTDTC. The reason the site gave is in SUPPDV (DVREAS, split in parts of
200 characters: DVREAS, DVREAS1, ...).
"""

from __future__ import annotations

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
    coded,
    dtc,
    epoch,
    long_text,
    ref,
    sequence,
    split_text,
    study_day,
)
from app.interop.cdisc.records import Study

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "DV"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("DVSEQ", DERIVED, "1, 2, ... per participant in DVSTDTC order", method="SEQ"),
    Var("DVTERM", DERIVED, "'<rule>; <detail>' of the deviation (the service's wording)"),
    Var("DVDECOD", DERIVED, "kind in capitals, e.g. DOSE OUT OF WINDOW, SHORT INFUSION, VISIT OUT OF WINDOW"),
    Var("DVCAT", ASSIGNED, "record_table: doses -> STUDY DRUG ADMINISTRATION, visits -> VISIT SCHEDULE", codelist="DVCAT"),
    Var("EPOCH", DERIVED, "epoch of DVSTDTC", codelist="EPOCH", method="EPOCH"),
    Var("DVSTDTC", COLLECTED, "the dose's started_at date (site-local) or the visit's visit_date"),
    Var("DVSTDY", DERIVED, "study day of DVSTDTC", method="DY"),
)  # fmt: skip
SUPP_REASON = ("DVREAS", "Reason for the Deviation")


def build(study: Study) -> Domain:
    rows: list[Row] = []
    supp: list[Supp] = []
    for p in study.participants:
        for d in sorted(p.deviations, key=lambda d: (d.on, d.kind, str(d.id))):
            index = len(rows)
            row = base_row("DV", p)
            row |= {
                "DVDECOD": d.kind.replace("_", " ").upper(),
                "DVCAT": coded(
                    ct.DVCAT_FROM_TABLE, d.record_table, "protocol_deviations", d.id, "record_table"
                ),
                "EPOCH": epoch(p, d.on),
                "DVSTDTC": dtc(d.on),
                "DVSTDY": study_day(p, d.on),
            }
            term = f"{d.rule}; {d.detail}"
            long_text(
                row,
                "DVTERM",
                term,
                index=index,
                seq_var="DVSEQ",
                label="Protocol Deviation Term",
                supp=supp,
            )
            qnam, qlabel = SUPP_REASON
            for i, part in enumerate(split_text(d.reason)):
                name = qnam if i == 0 else f"{qnam}{i}"
                label = qlabel if i == 0 else f"{qlabel} (part {i + 1})"[:40]
                supp.append(Supp(p.study_id, "DVSEQ", ref(index), name, label, part, COLLECTED))
            rows.append(row)
    return Domain("DV", VARIABLES, rows, sequence(rows, "DVSEQ", supp))
