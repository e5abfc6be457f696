"""TA, TE, TV, TI: the planned design of the trial, from the protocol module (SPEC §1).

Elements: screening (SCRN), the treatment period of each arm (SMT for CTRL, EXO for EXO: Day
1 to Day 10, the target day of dose 4, or the day of a later dose 4), follow-up (FU) to the
Day 84 visit. Both arms have the same visits (doses 2-4 share the windows of the Day 4, 7, 10
visits). TI lists the eligibility criteria the service decides (app.interop.cdisc.ie).
"""

from __future__ import annotations

from app.domain import protocol
from app.domain.deviations import window_text
from app.interop.cdisc import terminology as ct
from app.interop.cdisc.common import ASSIGNED, PROTOCOL, STUDYID, Domain, Row, Var
from app.interop.cdisc.ie import CRITERIA, INCLUSION

_TREATMENT_END = (
    f"End of Day {protocol.DOSE_WINDOWS[protocol.DOSE_COUNT].target_day}, or of the day of "
    "dose 4 when it is given later"
)
ELEMENTS: dict[str, tuple[str, str, str]] = {
    # ETCD: (ELEMENT, TESTRL, TEENRL)
    "SCRN": (
        "Screening",
        "Informed consent",
        f"Randomization (screening assessment within {protocol.SCREENING_VALID_DAYS} days "
        "before it), or screen failure",
    ),
    "SMT": ("Standard medical treatment", "Randomization to CTRL (Day 1)", _TREATMENT_END),
    "EXO": (
        "Standard medical treatment + PT-MSCs exosome infusion",
        "Randomization to EXO (Day 1; dose 1 on Day 1)",
        _TREATMENT_END,
    ),
    "FU": (
        "Follow-up",
        "End of the treatment period",
        f"Day {protocol.FINAL_VISIT_DAY} visit, death, withdrawal or loss to follow-up",
    ),
}
# ARMCD: the elements of the arm in order, with their epochs
ARM_ELEMENTS = {
    "CTRL": (("SCRN", ct.EPOCH_SCREENING), ("SMT", ct.EPOCH_TREATMENT), ("FU", ct.EPOCH_FOLLOW_UP)),
    "EXO": (("SCRN", ct.EPOCH_SCREENING), ("EXO", ct.EPOCH_TREATMENT), ("FU", ct.EPOCH_FOLLOW_UP)),
}

TA_VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "TA"),
    Var("ARMCD", PROTOCOL, "CTRL, EXO", codelist="ARMCD"),
    Var("ARM", PROTOCOL, "the arm's name", codelist="ARM"),
    Var("TAETORD", PROTOCOL, "1 screening, 2 treatment, 3 follow-up"),
    Var("ETCD", PROTOCOL, "SCRN, SMT or EXO, FU"),
    Var("ELEMENT", PROTOCOL, "the element's name (TE)"),
    Var("TABRANCH", PROTOCOL, "on the screening element: the randomization to the arm"),
    Var("TATRANS", PROTOCOL, "empty: no transitions besides the sequence"),
    Var("EPOCH", PROTOCOL, "SCREENING, TREATMENT, FOLLOW-UP", codelist="EPOCH"),
)
TE_VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "TE"),
    Var("ETCD", PROTOCOL, "SCRN, SMT, EXO, FU"),
    Var("ELEMENT", PROTOCOL, "the element's name"),
    Var("TESTRL", PROTOCOL, "the rule that starts the element"),
    Var("TEENRL", PROTOCOL, "the rule that ends the element"),
)
TV_VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "TV"),
    Var("VISITNUM", PROTOCOL, "0 screening, 1 Day 1, then the visit day"),
    Var("VISIT", PROTOCOL, "SCREENING, DAY 1, DAY <n>"),
    Var("VISITDY", PROTOCOL, "the planned study day"),
    Var("ARMCD", PROTOCOL, "empty: the visits are the same in both arms", codelist="ARMCD"),
    Var("TVSTRL", PROTOCOL, "the planned day and its window (app.domain.protocol.VISIT_WINDOWS)"),
)
TI_VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "TI"),
    Var("IETESTCD", PROTOCOL, "INCL01-INCL05"),
    Var("IETEST", PROTOCOL, "the criterion (SPEC §2.1)"),
    Var("IECAT", PROTOCOL, "INCLUSION", codelist="IECAT"),
    Var("TIVERS", PROTOCOL, "1 (the protocol version these criteria belong to)"),
)


def _design(domain: str) -> Row:
    return {"STUDYID": STUDYID, "DOMAIN": domain}


def build_ta() -> Domain:
    rows = []
    for arm, elements in ARM_ELEMENTS.items():
        for order, (etcd, epoch) in enumerate(elements, start=1):
            branch = f"Randomized to {arm}" if order == 1 else None
            rows.append(
                _design("TA")
                | {
                    "ARMCD": arm,
                    "ARM": ct.ARM_NAMES[arm],
                    "TAETORD": float(order),
                    "ETCD": etcd,
                    "ELEMENT": ELEMENTS[etcd][0],
                    "TABRANCH": branch,
                    "TATRANS": None,
                    "EPOCH": epoch,
                }
            )
    return Domain("TA", TA_VARIABLES, rows)


def build_te() -> Domain:
    rows = [
        _design("TE") | {"ETCD": etcd, "ELEMENT": e, "TESTRL": start, "TEENRL": end}
        for etcd, (e, start, end) in ELEMENTS.items()
    ]
    return Domain("TE", TE_VARIABLES, rows)


def build_tv() -> Domain:
    rows = [
        _visit(
            0,
            "SCREENING",
            None,
            f"Within {protocol.SCREENING_VALID_DAYS} days before randomization",
        ),
        _visit(1, "DAY 1", 1, "Day 1: randomization (exosome arm: dose 1)"),
    ]
    for day, window in protocol.VISIT_WINDOWS.items():
        rows.append(_visit(day, f"DAY {day}", day, window_text(window)))
    return Domain("TV", TV_VARIABLES, rows)


def _visit(num: int, name: str, day: int | None, rule: str) -> Row:
    return _design("TV") | {
        "VISITNUM": float(num),
        "VISIT": name,
        "VISITDY": float(day) if day is not None else None,
        "ARMCD": None,
        "TVSTRL": rule,
    }


def build_ti() -> Domain:
    rows = [
        _design("TI") | {"IETESTCD": code, "IETEST": text, "IECAT": INCLUSION, "TIVERS": "1"}
        for code, text in CRITERIA.items()
    ]
    return Domain("TI", TI_VARIABLES, rows)
