"""QS (Questionnaires): the clinical symptom score (SPEC §3.3) of screenings and visits.

Five items, each 0 (absent) to 3 (severe), as collected, and the total the service computed
and stored with the assessment (QSDRVFL = Y; its algorithm version in SUPPQS). The score is
sponsor-defined (QSCAT CLINICAL SYMPTOM SCORE, an extension of the extensible C100129).
"""

from __future__ import annotations

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
    ref,
    sequence,
)
from app.interop.cdisc.records import Participant, Study

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "QS"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("QSSEQ", DERIVED, "1, 2, ... per participant in QSDTC, QSTESTCD order", method="SEQ"),
    Var("QSTESTCD", ASSIGNED, "symptoms item: fatigue SYMP01, anorexia SYMP02, nausea SYMP03, jaundice SYMP04, consciousness SYMP05; total SYMPTOT", codelist="QSTESTCD"),
    Var("QSTEST", ASSIGNED, "the item's name", codelist="QSTESTCD"),
    Var("QSCAT", ASSIGNED, "CLINICAL SYMPTOM SCORE", codelist="QSCAT"),
    Var("QSORRES", COLLECTED, "symptoms.<item> (0-3); total: scores.symptom_score.score (0-15)"),
    Var("QSSTRESC", DERIVED, "QSORRES"),
    Var("QSSTRESN", DERIVED, "QSORRES as a number", method="SYMPTOT"),
    Var("QSLOBXFL", DERIVED, "Y on the baseline screening (the latest recorded at or before randomization)", codelist="NY", method="LOBXFL"),
    Var("QSDRVFL", DERIVED, "Y on the total (computed by the service)", codelist="NY"),
    Var("VISITNUM", ASSIGNED, "0 for a screening, else visit_day"),
    Var("VISIT", ASSIGNED, "SCREENING or DAY <visit_day>"),
    Var("EPOCH", DERIVED, "SCREENING for screenings, else epoch of QSDTC", codelist="EPOCH", method="EPOCH"),
    Var("QSDTC", COLLECTED, "screening assessment_date or visit_date"),
    Var("QSDY", DERIVED, "study day of QSDTC", method="DY"),
)  # fmt: skip
SUPP_VERSION = ("ALGVER", "Algorithm Version")


def build(study: Study) -> Domain:
    rows: list[Row] = []
    supp: list[Supp] = []
    for p in study.participants:
        for a in assessments(p):
            rows_of, version = _rows(p, a)
            for row in rows_of:
                if row["QSDRVFL"] == "Y" and version:
                    qnam, qlabel = SUPP_VERSION
                    supp.append(
                        Supp(p.study_id, "QSSEQ", ref(len(rows)), qnam, qlabel, version, "Assigned")
                    )
                rows.append(row)
    return Domain("QS", VARIABLES, rows, sequence(rows, "QSSEQ", supp))


def _rows(p: Participant, a: Assessment) -> tuple[list[Row], str | None]:
    symptoms = a.symptoms or {}
    found = [
        _row(p, a, code, name, symptoms[item], derived=False)
        for item, (code, name) in ct.QS_ITEMS.items()
        if symptoms.get(item) is not None
    ]
    total = score(a.scores, "symptom_score")
    version = None
    if total is not None:
        code, name = ct.QS_TOTAL
        found.append(_row(p, a, code, name, int(total["score"]), derived=True))
        version = str(total.get("version") or "") or None
    return found, version


def _row(p: Participant, a: Assessment, code: str, name: str, value: int, *, derived: bool) -> Row:
    row = base_row("QS", p)
    row |= {
        "QSTESTCD": code,
        "QSTEST": name,
        "QSCAT": ct.QS_CATEGORY,
        "QSORRES": str(value),
        "QSSTRESC": str(value),
        "QSSTRESN": float(value),
        "QSDRVFL": "Y" if derived else None,
    }
    row |= a.timing(p, "QS")
    return row
