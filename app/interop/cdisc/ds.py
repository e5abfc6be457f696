"""DS (Disposition): protocol milestones, each participant's final disposition, other events.

- PROTOCOL MILESTONE: every consent (INFORMED CONSENT OBTAINED) and the randomization
  (RANDOMIZED, at its time), both in the SCREENING epoch they close.
- DISPOSITION EVENT: one record for a participant whose participation has ended, from the
  participant's status: completed (dated by the Day 84 visit), died, withdrawn, lost to
  follow-up (dated by that outcome), screen failed (dated by the latest screening).
  Participants still in follow-up at the export have none.
- OTHER EVENT: liver transplant and treatment abandonment (sponsor terms): survival
  follow-up continues after them (SPEC §2.2), so they do not end participation.
"""

from __future__ import annotations

from datetime import date

from app.domain import protocol
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
    dtc_local,
    epoch,
    local_date,
    long_text,
    sequence,
    study_day,
)
from app.interop.cdisc.records import Participant, Study

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "DS"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("DSSEQ", DERIVED, "1, 2, ... per participant in DSSTDTC order", method="SEQ"),
    Var("DSTERM", COLLECTED, "consent: INFORMED CONSENT OBTAINED, FORM <form_version>; else DSDECOD"),
    Var("DSDECOD", DERIVED, "consent, randomization, the participant's final status, or the outcome type", codelist="DSDECOD"),
    Var("DSCAT", ASSIGNED, "PROTOCOL MILESTONE, DISPOSITION EVENT or OTHER EVENT", codelist="DSCAT"),
    Var("EPOCH", DERIVED, "epoch of DSSTDTC (milestones: SCREENING)", codelist="EPOCH", method="EPOCH"),
    Var("DSSTDTC", COLLECTED, "consent_date, randomized_at (site-local; Day 1 if on another date), outcome date, Day 84 visit_date, latest screening assessment_date"),
    Var("DSSTDY", DERIVED, "study day of DSSTDTC", method="DY"),
)  # fmt: skip


def build(study: Study) -> Domain:
    rows: list[Row] = []
    supp: list[Supp] = []
    for p in study.participants:
        for on, row, term in _events(p):
            row["DSSTDY"] = study_day(p, on)
            long_text(
                row,
                "DSTERM",
                term,
                index=len(rows),
                seq_var="DSSEQ",
                label="Reported Term",
                supp=supp,
            )
            rows.append(row)
    return Domain("DS", VARIABLES, rows, sequence(rows, "DSSEQ", supp))


def _events(p: Participant) -> list[tuple[date, Row, str]]:
    events = [
        (c.consent_date, _row(p, ct.CONSENTED, ct.DSCAT_MILESTONE, dtc(c.consent_date)),
         f"{ct.CONSENTED}, FORM {c.form_version}")
        for c in p.consents
    ]  # fmt: skip
    if p.allocation is not None:
        on = p.allocation.day1
        # the time of randomization when it falls on Day 1 at the site (it always does when
        # the site's time zone has not changed since), else Day 1 itself
        at = p.allocation.randomized_at
        stamp = dtc_local(at, p.timezone) if local_date(at, p.timezone) == on else dtc(on)
        events.append((on, _row(p, ct.RANDOMIZED, ct.DSCAT_MILESTONE, stamp), ct.RANDOMIZED))
    for o in p.outcomes:
        decod = ct.OTHER_EVENT_FROM_OUTCOME.get(o.type)
        if decod is not None:
            row = _row(p, decod, ct.DSCAT_OTHER, dtc(o.outcome_date), epoch(p, o.outcome_date))
            events.append((o.outcome_date, row, decod))
    final = _disposition(p)
    if final is not None:
        decod, on = final
        row = _row(p, decod, ct.DSCAT_DISPOSITION, dtc(on), epoch(p, on))
        events.append((on, row, decod))
    events.sort(key=lambda e: (e[0], str(e[1]["DSSTDTC"])))
    return events


def _row(p: Participant, decod: str, cat: str, when: str | None, ep: str | None = None) -> Row:
    row = base_row("DS", p)
    row |= {"DSDECOD": decod, "DSCAT": cat, "DSSTDTC": when}
    row["EPOCH"] = ep or ct.EPOCH_SCREENING
    return row


def _disposition(p: Participant) -> tuple[str, date] | None:
    decod = ct.DISPOSITION_FROM_STATUS.get(p.status)
    if decod is None:
        return None
    on: date | None
    if p.status == "screen_failed":
        on = p.screenings[-1].assessment_date if p.screenings else None
    elif p.status == "completed":
        final = [v.visit_date for v in p.visits if v.visit_day == protocol.FINAL_VISIT_DAY]
        on = final[0] if final else None
    else:
        kind = {"died": "death"}.get(p.status, p.status)
        on = next((o.outcome_date for o in p.outcomes if o.type == kind), None)
    return None if on is None else (decod, on)
