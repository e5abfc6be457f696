"""RS (Disease Response and Clin Classification): COSSH-ACLF II and Child-Pugh.

Both are clinical classifications "based on published criteria", which SDTMIG 3.3+ puts in RS
(not QS). The scores are those the service computed and stored with each screening and visit
(never recomputed for the totals):
- COSSH-ACLF II (sponsor RSCAT, not in CDISC CT 2022): COSSH2SC the score as the API shows
  it (3 decimals), COSSH2RK the risk group the service decided on the unrounded score.
- Child-Pugh (RSCAT CHILD-PUGH CLASSIFICATION, CDISC test codes CPS01xx): CPS0106 the total,
  CPS0107 the class; and the five items (encephalopathy, ascites, bilirubin, albumin, INR) as
  collected (RSORRES) with their points (RSSTRESN), when the points the current algorithm
  gives them add up to the stored total (else only the total and class are exported).
The algorithm version stored with each score is in SUPPRS (ALGVER) on the score's record.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from app.domain import scores as algorithms
from app.domain.errors import InvalidData
from app.interop.cdisc import terminology as ct
from app.interop.cdisc.assessments import Assessment, assessments, score
from app.interop.cdisc.common import (
    ASSIGNED,
    COLLECTED,
    DERIVED,
    Domain,
    Row,
    Supp,
    Var,
    base_row,
    decimal_text,
    ref,
    sequence,
)
from app.interop.cdisc.records import Participant, Study

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "RS"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("RSSEQ", DERIVED, "1, 2, ... per participant in RSDTC order", method="SEQ"),
    Var("RSTESTCD", ASSIGNED, "COSSH2SC, COSSH2RK (sponsor); CPS0101-CPS0107 (CDISC Child-Pugh)", codelist="RSTESTCD"),
    Var("RSTEST", ASSIGNED, "the test name of RSTESTCD", codelist="RSTESTCD"),
    Var("RSCAT", ASSIGNED, "COSSH-ACLF II or CHILD-PUGH CLASSIFICATION", codelist="RSCAT"),
    Var("RSORRES", COLLECTED, "scores.cossh_aclf_ii.score / .risk, scores.child_pugh.score / .class; items: he_grade, ascites, canonical labs total_bilirubin, albumin, inr"),
    Var("RSORRESU", COLLECTED, "canonical unit of a lab item (umol/L, g/L); else empty", codelist="UNIT"),
    Var("RSSTRESC", DERIVED, "RSORRES; items: their Child-Pugh points", method="RSSTRES"),
    Var("RSSTRESN", DERIVED, "numeric RSSTRESC (score, total or points)", method="RSSTRES"),
    Var("RSLOBXFL", DERIVED, "Y on the baseline screening (the latest recorded at or before randomization)", codelist="NY", method="LOBXFL"),
    Var("RSDRVFL", DERIVED, "Y on scores, risk groups, totals and classes (computed by the service)", codelist="NY"),
    Var("VISITNUM", ASSIGNED, "0 for a screening, else visit_day"),
    Var("VISIT", ASSIGNED, "SCREENING or DAY <visit_day>"),
    Var("EPOCH", DERIVED, "SCREENING for screenings, else epoch of RSDTC", codelist="EPOCH", method="EPOCH"),
    Var("RSDTC", COLLECTED, "screening assessment_date or visit_date"),
    Var("RSDY", DERIVED, "study day of RSDTC", method="DY"),
)  # fmt: skip
SUPP_VERSION = ("ALGVER", "Algorithm Version")
_LAB_ITEMS = (
    (ct.CP_BILI, "total_bilirubin", "umol/L"),
    (ct.CP_ALB, "albumin", "g/L"),
    (ct.CP_INR, "inr", None),
)


def build(study: Study) -> Domain:
    rows: list[Row] = []
    supp: list[Supp] = []
    for p in study.participants:
        for a in assessments(p):
            for row, version in _cossh(p, a) + _child_pugh(p, a):
                if version:
                    qnam, qlabel = SUPP_VERSION
                    supp.append(
                        Supp(p.study_id, "RSSEQ", ref(len(rows)), qnam, qlabel, version, "Assigned")
                    )
                rows.append(row)
    return Domain("RS", VARIABLES, rows, sequence(rows, "RSSEQ", supp))


def _cossh(p: Participant, a: Assessment) -> list[tuple[Row, str | None]]:
    entry = score(a.scores, "cossh_aclf_ii")
    if entry is None:
        return []
    value = Decimal(str(entry["score"]))
    found = [
        (
            _row(p, a, ct.RS_COSSH, ct.COSSH_SCORE, decimal_text(value), float(value)),
            _version(entry),
        )
    ]
    risk = ct.COSSH_RISK_TEXT.get(str(entry.get("risk")))
    if risk is not None:
        found.append((_row(p, a, ct.RS_COSSH, ct.COSSH_RISK, risk, None), None))
    return found


def _child_pugh(p: Participant, a: Assessment) -> list[tuple[Row, str | None]]:
    entry = score(a.scores, "child_pugh")
    if entry is None:
        return []
    total = int(entry["score"])
    found: list[tuple[Row, str | None]] = [
        (_row(p, a, ct.RS_CHILD_PUGH, test, res, num, unit), None)
        for test, res, num, unit in _items(a, total)
    ]
    found.append(
        (_row(p, a, ct.RS_CHILD_PUGH, ct.CP_TOTAL, str(total), float(total)), _version(entry))
    )
    grade = entry.get("class")
    if grade:
        found.append((_row(p, a, ct.RS_CHILD_PUGH, ct.CP_GRADE, str(grade), None), None))
    return found


def _items(a: Assessment, total: int) -> list[tuple[tuple[str, str], str, int, str | None]]:
    """(test, collected value, points, unit) of the five items, or none when the current
    algorithm's points would not add up to the stored total."""
    labs = {k: _canonical(a.labs, k) for k in ("total_bilirubin", "albumin", "inr")}
    if a.he_grade is None or a.ascites is None or any(v is None for v in labs.values()):
        return []
    try:
        points = algorithms.child_pugh_points(
            total_bilirubin_umol_l=labs["total_bilirubin"] or Decimal(0),
            albumin_g_l=labs["albumin"] or Decimal(0),
            inr=labs["inr"] or Decimal(0),
            ascites=a.ascites,
            he_grade=a.he_grade,
        )
    except InvalidData:
        return []
    if sum(points.values()) != total:
        return []
    items: list[tuple[tuple[str, str], str, int, str | None]] = [
        (ct.CP_HE, f"GRADE {a.he_grade}", points["he_grade"], None),
        (ct.CP_ASCITES, ct.ASCITES_TEXT[a.ascites], points["ascites"], None),
    ]
    for test, key, unit in _LAB_ITEMS:
        items.append((test, decimal_text(labs[key] or Decimal(0)), points[key], unit))
    return items


def _canonical(labs: Mapping[str, Any], key: str) -> Decimal | None:
    entry = labs.get(key)
    if not isinstance(entry, Mapping) or entry.get("canonical_value") is None:
        return None
    return Decimal(str(entry["canonical_value"]))


def _row(
    p: Participant,
    a: Assessment,
    cat: str,
    test: tuple[str, str],
    orres: str,
    points: float | int | None,
    unit: str | None = None,
) -> Row:
    derived = test in (ct.COSSH_SCORE, ct.COSSH_RISK, ct.CP_TOTAL, ct.CP_GRADE)
    item = not derived
    row = base_row("RS", p)
    row |= {
        "RSTESTCD": test[0],
        "RSTEST": test[1],
        "RSCAT": cat,
        "RSORRES": orres,
        "RSORRESU": unit,
        "RSSTRESC": str(points) if item else orres,
        "RSSTRESN": float(points) if points is not None else None,
        "RSDRVFL": "Y" if derived else None,
    }
    row |= a.timing(p, "RS")
    return row


def _version(entry: Mapping[str, Any]) -> str | None:
    return str(entry.get("version") or "") or None
