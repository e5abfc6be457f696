"""AE (Adverse Events): one record per non-voided adverse event, at its current values.

MedDRA coding is not done by the service: it holds the verbatim term and, when the site gave
it, the 8-digit MedDRA preferred-term code (AEPTCD). AEDECOD and the rest of the hierarchy stay
empty until the sponsor's coding with a licensed dictionary (a known, reported gap of the
conformance checks). CTCAE grades go to AETOXGR (AESEV is not collected). Expectedness and the
SUSAR flag have no SDTM variable: SUPPAE (AEEXPECT, AESUSAR).
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
    study_day,
    yes_no,
)
from app.interop.cdisc.records import AdverseEvent, Participant, Study

_EMPTY = "empty: MedDRA coding is the sponsor's (licensed dictionary)"
VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "AE"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("AESEQ", DERIVED, "1, 2, ... per participant in AESTDTC order", method="SEQ"),
    Var("AETERM", COLLECTED, "term (verbatim)"),
    Var("AELLT", ASSIGNED, _EMPTY),
    Var("AELLTCD", ASSIGNED, _EMPTY),
    Var("AEDECOD", ASSIGNED, _EMPTY),
    Var("AEPTCD", COLLECTED, "meddra_pt_code (as a number)"),
    Var("AEHLT", ASSIGNED, _EMPTY),
    Var("AEHLTCD", ASSIGNED, _EMPTY),
    Var("AEHLGT", ASSIGNED, _EMPTY),
    Var("AEHLGTCD", ASSIGNED, _EMPTY),
    Var("AEBODSYS", ASSIGNED, _EMPTY),
    Var("AEBDSYCD", ASSIGNED, _EMPTY),
    Var("AESOC", ASSIGNED, _EMPTY),
    Var("AESOCCD", ASSIGNED, _EMPTY),
    Var("AESER", COLLECTED, "serious: true -> Y, false -> N", codelist="NY"),
    Var("AEACN", COLLECTED, "action_taken: none -> DOSE NOT CHANGED (control arm: NOT APPLICABLE), interrupted and dose_not_given -> DRUG INTERRUPTED, withdrawn -> DRUG WITHDRAWN, not_applicable -> NOT APPLICABLE", codelist="ACN"),
    Var("AEREL", COLLECTED, "relatedness: not_related, unlikely, possible, probable, definite -> NOT RELATED, UNLIKELY RELATED, POSSIBLY RELATED, PROBABLY RELATED, RELATED", codelist="AEREL"),
    Var("AEOUT", COLLECTED, "outcome: recovered, recovering, not_recovered, recovered_with_sequelae, fatal, unknown -> the C66768 terms", codelist="OUT"),
    *(
        Var(flag, COLLECTED, f"Y when seriousness_criteria lists {criterion}, else N", codelist="NY")
        for criterion, flag in ct.SERIOUSNESS_FLAGS.items()
    ),
    Var("AETOXGR", COLLECTED, "ctcae_grade (CTCAE v5.0, 1-5)", codelist="AETOXGR"),
    Var("EPOCH", DERIVED, "epoch of AESTDTC", codelist="EPOCH", method="EPOCH"),
    Var("AESTDTC", COLLECTED, "onset_date"),
    Var("AEENDTC", COLLECTED, "end_date"),
    Var("AESTDY", DERIVED, "study day of AESTDTC", method="DY"),
    Var("AEENDY", DERIVED, "study day of AEENDTC", method="DY"),
)  # fmt: skip
SUPP_EXPECTEDNESS = ("AEEXPECT", "Expectedness")
SUPP_SUSAR = ("AESUSAR", "Suspected Unexpected Serious Adv Reaction")


def build(study: Study) -> Domain:
    rows: list[Row] = []
    supp: list[Supp] = []
    for p in study.participants:
        for ae in sorted(p.adverse_events, key=lambda a: (a.onset_date, str(a.id))):
            index = len(rows)
            row = _row(p, ae)
            long_text(
                row,
                "AETERM",
                ae.term,
                index=index,
                seq_var="AESEQ",
                label="Reported Term",
                supp=supp,
            )
            supp.append(_supp(p, index, SUPP_EXPECTEDNESS, ae.expectedness.upper(), "Collected"))
            supp.append(_supp(p, index, SUPP_SUSAR, yes_no(ae.susar), "Derived"))
            rows.append(row)
    return Domain("AE", VARIABLES, rows, sequence(rows, "AESEQ", supp))


def _row(p: Participant, ae: AdverseEvent) -> Row:
    row = base_row("AE", p)
    row |= {
        "AEPTCD": _code(ae.meddra_pt_code),
        "AESER": yes_no(ae.serious),
        "AEACN": action(p, ae),
        "AEREL": coded(ct.AEREL_FROM_API, ae.relatedness, "adverse_events", ae.id, "relatedness"),
        "AEOUT": coded(ct.AEOUT_FROM_API, ae.outcome, "adverse_events", ae.id, "outcome"),
        "AETOXGR": str(ae.ctcae_grade),
        "EPOCH": epoch(p, ae.onset_date),
        "AESTDTC": dtc(ae.onset_date),
        "AEENDTC": dtc(ae.end_date),
        "AESTDY": study_day(p, ae.onset_date),
        "AEENDY": study_day(p, ae.end_date),
    }
    criteria = set(ae.seriousness_criteria)
    row |= {flag: yes_no(c in criteria) for c, flag in ct.SERIOUSNESS_FLAGS.items()}
    return row


def action(p: Participant, ae: AdverseEvent) -> str | None:
    """The action with the study drug; the control arm receives none (NOT APPLICABLE)."""
    if ae.action_taken is None:
        return None
    if ae.action_taken == "none" and (p.allocation is None or p.allocation.arm != "exosome"):
        return ct.AEACN_NO_STUDY_DRUG
    return coded(ct.AEACN_FROM_API, ae.action_taken, "adverse_events", ae.id, "action_taken")


def _code(code: str | None) -> float | None:
    """The MedDRA code as a number (AEPTCD is numeric); text that is not digits is left out."""
    if code is None or not (code.isascii() and code.isdigit()):
        return None
    return float(code)


def _supp(p: Participant, index: int, q: tuple[str, str], value: str, origin: str) -> Supp:
    return Supp(p.study_id, "AESEQ", ref(index), q[0], q[1], value, origin)
