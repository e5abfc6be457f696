"""IE (Inclusion/Exclusion Criteria Not Met): the failed criteria of each screen failure.

The criteria (TI lists them) are those the service itself decides at screening (SPEC §2.1);
each eligibility reason code maps to one inclusion criterion. Only a participant's latest
screening counts (an earlier failed screening followed by an eligible rescreening is not a
screen failure); participants whose latest screening is eligible have no IE records.
"""

from __future__ import annotations

from app.domain import eligibility as rules
from app.domain import protocol
from app.interop.cdisc import terminology as ct
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
    sequence,
    study_day,
)
from app.interop.cdisc.errors import NotExportable, Problem
from app.interop.cdisc.records import Study

# IETESTCD -> IETEST (<= 200 characters; TI)
CRITERIA: dict[str, str] = {
    "INCL01": f"Age {protocol.AGE_MIN_YEARS} to {protocol.AGE_MAX_YEARS} years inclusive, in "
    "completed years on the screening date (and still on Day 1)",
    "INCL02": "Acute-on-chronic liver failure per the 2024 Chinese Liver Failure Clinical "
    "Guidelines, confirmed by the investigator",
    "INCL03": f"Total bilirubin >= {protocol.ACLF_TBIL_MIN_UMOL_L} umol/L (10 mg/dL), or >= "
    f"{protocol.ACLF_TBIL_MIN_ULN_MULTIPLE} x the laboratory's upper limit of normal",
    "INCL04": f"INR >= {protocol.ACLF_INR_MIN} or prothrombin activity <= "
    f"{protocol.ACLF_PTA_MAX_PERCENT}%",
    "INCL05": f"COSSH-ACLF II score < {protocol.COSSH_ACLF_II_ELIGIBLE_BELOW}",
}
CRITERION_OF_REASON: dict[str, str] = {
    rules.AGE_BELOW_MIN: "INCL01",
    rules.AGE_ABOVE_MAX: "INCL01",
    rules.ACLF_NOT_CONFIRMED: "INCL02",
    rules.ACLF_BILIRUBIN_TOO_LOW: "INCL03",
    rules.ACLF_COAGULOPATHY_NOT_MET: "INCL04",
    rules.COSSH_NOT_BELOW_LIMIT: "INCL05",
}
INCLUSION = "INCLUSION"
SCREENING_VISIT = (0.0, "SCREENING")

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "IE"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("IESEQ", DERIVED, "1, 2, ... per participant in IETESTCD order", method="SEQ"),
    Var("IETESTCD", DERIVED, "the criterion of each eligibility reason code of the latest screening (see TI)"),
    Var("IETEST", PROTOCOL, "the criterion's text (TI)"),
    Var("IECAT", PROTOCOL, "INCLUSION (every criterion the service decides is an inclusion criterion)", codelist="IECAT"),
    Var("IEORRES", DERIVED, "N: the inclusion criterion is not met", codelist="NY"),
    Var("IESTRESC", DERIVED, "N, as IEORRES", codelist="NY"),
    Var("VISITNUM", ASSIGNED, "0 (screening)"),
    Var("VISIT", ASSIGNED, "SCREENING"),
    Var("EPOCH", ASSIGNED, "SCREENING", codelist="EPOCH"),
    Var("IEDTC", COLLECTED, "assessment_date of the latest screening"),
    Var("IEDY", DERIVED, "study day of IEDTC (empty without randomization)", method="DY"),
)  # fmt: skip


def build(study: Study) -> Domain:
    rows: list[Row] = []
    problems: list[Problem] = []
    for p in study.participants:
        latest = p.screenings[-1] if p.screenings else None
        if latest is None or latest.eligible:
            continue
        codes = set()
        for reason in latest.reasons:
            code = CRITERION_OF_REASON.get(reason.split(":", 1)[0])
            if code is None:
                problems.append(
                    Problem("screenings", str(latest.id), "reasons", reason[:80], "no IE criterion")
                )
            else:
                codes.add(code)
        for code in sorted(codes):
            row = base_row("IE", p)
            row |= {
                "IETESTCD": code,
                "IETEST": CRITERIA[code],
                "IECAT": INCLUSION,
                "IEORRES": "N",
                "IESTRESC": "N",
                "VISITNUM": SCREENING_VISIT[0],
                "VISIT": SCREENING_VISIT[1],
                "EPOCH": ct.EPOCH_SCREENING,
                "IEDTC": dtc(latest.assessment_date),
                "IEDY": study_day(p, latest.assessment_date),
            }
            rows.append(row)
    if problems:
        raise NotExportable(problems)
    sequence(rows, "IESEQ")
    return Domain("IE", VARIABLES, rows)
