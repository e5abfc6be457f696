"""DM (Demographics): one record per participant ever enrolled, screen failures included."""

from __future__ import annotations

from datetime import date

from app.domain.eligibility import age_in_completed_years
from app.interop.cdisc import terminology as ct
from app.interop.cdisc.common import (
    ASSIGNED,
    COLLECTED,
    DERIVED,
    NOT_AVAILABLE,
    Domain,
    Row,
    Var,
    base_row,
    coded,
    dtc,
    dtc_local,
    local_date,
    rfstdtc,
)
from app.interop.cdisc.records import Participant, Study

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code PT-MSCs-EVS-2023-1"),
    Var("DOMAIN", ASSIGNED, "DM"),
    Var("USUBJID", ASSIGNED, "participant study_id (site code and number, e.g. GZ3-0001)"),
    Var("SUBJID", ASSIGNED, "participant study_id (unique across sites, as USUBJID)"),
    Var("RFSTDTC", DERIVED, "randomization day1 (Day 1, site-local date), both arms", method="RFSTDTC"),
    Var("RFENDTC", DERIVED, "latest date of participation known at the export", method="RFENDTC"),
    Var("RFXSTDTC", DERIVED, "started_at of the first dose given (site-local), exosome arm", method="RFXSTDTC"),
    Var("RFXENDTC", DERIVED, "ended_at of the last dose given (site-local), exosome arm", method="RFXSTDTC"),
    Var("RFICDTC", COLLECTED, "consent_date of the participant's first consent"),
    Var("RFPENDTC", DERIVED, "latest date of participation known at the export", method="RFENDTC"),
    Var("DTHDTC", COLLECTED, "date of the death outcome"),
    Var("DTHFL", DERIVED, "Y when a death outcome is recorded, else empty", codelist="NY"),
    Var("SITEID", ASSIGNED, "site code of the participant's site"),
    Var("AGE", DERIVED, "completed years from date_of_birth to RFSTDTC (else to the latest screening)", method="AGE"),
    Var("AGEU", ASSIGNED, "YEARS", codelist="AGEU"),
    Var("SEX", COLLECTED, "participant sex: male -> M, female -> F", codelist="SEX"),
    Var("RACE", NOT_AVAILABLE, "not collected by the service: empty"),
    Var("ARMCD", ASSIGNED, "randomization arm: control -> CTRL, exosome -> EXO", codelist="ARMCD"),
    Var("ARM", ASSIGNED, "the name of ARMCD's arm", codelist="ARM"),
    Var("ACTARMCD", DERIVED, "ARMCD; for EXO only with at least one dose given", codelist="ARMCD", method="ACTARM"),
    Var("ACTARM", DERIVED, "the name of ACTARMCD's arm", codelist="ARM", method="ACTARM"),
    Var("ARMNRS", DERIVED, "why ARMCD or ACTARMCD is empty (status and doses)", codelist="ARMNRS", method="ACTARM"),
    Var("ACTARMUD", NOT_AVAILABLE, "never used: no unplanned treatment is possible"),
    Var("COUNTRY", ASSIGNED, "CHN: every site of the trial is in China"),
)  # fmt: skip


def build(study: Study) -> Domain:
    return Domain("DM", VARIABLES, [_row(p) for p in study.participants])


def _row(p: Participant) -> Row:
    row = base_row("DM", p)
    death = next((o.outcome_date for o in p.outcomes if o.type == "death"), None)
    first_dose = p.doses[0] if p.doses else None
    last_dose = p.doses[-1] if p.doses else None
    row |= {
        "SUBJID": p.study_id,
        "RFSTDTC": dtc(rfstdtc(p)),
        "RFENDTC": dtc(last_participation(p)) if p.allocation else None,
        "RFXSTDTC": dtc_local(first_dose.started_at, p.timezone) if first_dose else None,
        "RFXENDTC": dtc_local(last_dose.ended_at, p.timezone) if last_dose else None,
        "RFICDTC": dtc(min((c.consent_date for c in p.consents), default=None)),
        "RFPENDTC": dtc(last_participation(p)),
        "DTHDTC": dtc(death),
        "DTHFL": "Y" if death else None,
        "SITEID": p.site_code,
        "AGE": _age(p),
        "AGEU": ct.AGEU.terms[0].value if _age(p) is not None else None,
        "SEX": coded(ct.SEX_FROM_API, p.sex, "participants", p.id, "sex"),
        "RACE": None,
        "COUNTRY": ct.COUNTRY_CHINA,
        "ACTARMUD": None,
    }
    row |= arms(p)
    return row


def arms(p: Participant) -> Row:
    """ARMCD/ARM (randomized), ACTARMCD/ACTARM (as treated) and ARMNRS (why empty)."""
    empty: Row = {"ARMCD": None, "ARM": None, "ACTARMCD": None, "ACTARM": None}
    if p.allocation is None:
        reason = ct.ARMNRS_SCREEN_FAILURE if p.status == "screen_failed" else ct.ARMNRS_NOT_ASSIGNED
        return empty | {"ARMNRS": reason}
    code = ct.ARMCD_FROM_API[p.allocation.arm]
    planned: Row = {"ARMCD": code, "ARM": ct.ARM_NAMES[code]}
    if code == "EXO" and not p.doses:
        return empty | planned | {"ARMNRS": ct.ARMNRS_NOT_TREATED}
    return planned | {"ACTARMCD": code, "ACTARM": ct.ARM_NAMES[code], "ARMNRS": None}


def last_participation(p: Participant) -> date | None:
    """The latest date the participant is known to have taken part: Day 1, visits, doses,
    outcomes; before randomization, screenings and consents."""
    dates = [s.assessment_date for s in p.screenings] + [c.consent_date for c in p.consents]
    if p.allocation is not None:
        dates += [p.allocation.day1, *(v.visit_date for v in p.visits)]
        dates += [local_date(d.started_at, p.timezone) for d in p.doses]
        dates += [o.outcome_date for o in p.outcomes]
    return max(dates, default=None)


def _age(p: Participant) -> int | None:
    on = rfstdtc(p) or (p.screenings[-1].assessment_date if p.screenings else None)
    if on is None or on < p.date_of_birth:
        return None
    return age_in_completed_years(p.date_of_birth, on)
