"""From the mappers' domains to finished datasets: SDTMIG order, labels, types, SUPP--, checks.

`build_datasets(study)` runs every mapper and returns the datasets in submission order (DM
first, then the other subject domains, SUPP-- after their parent, trial design last). Each
dataset's variables are sorted into SDTMIG 3.4 order and carry the IG's label and type; text is
cleaned (`text.clean`); every value is checked: a character value outside printable ASCII or
longer than 200 characters refuses the export (NotExportable), as does a variable name, label
or dataset label the XPT v5 format cannot hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.interop.cdisc import ae, cm, dm, ds, dv, ex, ie, lb, pr, qs, rs, sv, trial_design, ts
from app.interop.cdisc import standard as ig
from app.interop.cdisc.common import (
    ASSIGNED,
    MAX_TEXT,
    STUDYID,
    Domain,
    Row,
    Supp,
    Value,
    Var,
)
from app.interop.cdisc.errors import NotExportable, Problem
from app.interop.cdisc.records import Study
from app.interop.cdisc.text import clean, printable_ascii, shown

NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
MAX_LABEL = 40

SUBJECT_DOMAINS: tuple[Callable[[Study], Domain], ...] = (
    dm.build, ds.build, ie.build, ex.build, ae.build, lb.build, sv.build, qs.build, rs.build,
    dv.build, cm.build, pr.build,
)  # fmt: skip
SUPP_VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("RDOMAIN", ASSIGNED, "the parent domain"),
    Var("USUBJID", ASSIGNED, "participant study_id"),
    Var("IDVAR", ASSIGNED, "--SEQ of the parent domain"),
    Var("IDVARVAL", ASSIGNED, "the parent record's --SEQ"),
    Var("QNAM", ASSIGNED, "the qualifier's name (see each domain)"),
    Var("QLABEL", ASSIGNED, "the qualifier's label"),
    Var("QVAL", ASSIGNED, "the qualifier's value (see each domain)"),
    Var("QORIG", ASSIGNED, "Collected, Derived or Assigned"),
    Var("QEVAL", ASSIGNED, "empty: no evaluator applies"),
)


@dataclass(frozen=True, slots=True)
class Column:
    var: Var
    label: str
    type: str  # Char | Num
    core: str


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    label: str
    dataset_class: str
    structure: str
    keys: tuple[str, ...]
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.var.name for c in self.columns)

    @property
    def filename(self) -> str:
        return f"{self.name.lower()}.xpt"


def build_datasets(study: Study) -> list[Dataset]:
    found: list[Dataset] = []
    for build in SUBJECT_DOMAINS:
        domain = build(study)
        found.append(finish(domain))
        if domain.supp:
            found.append(finish(supp_domain(domain.name, domain.supp)))
    design = [ts.build(study), trial_design.build_ta(), trial_design.build_te()]
    design += [trial_design.build_tv(), trial_design.build_ti()]
    found += [finish(d) for d in design]
    return found


def supp_domain(parent: str, values: Sequence[Supp]) -> Domain:
    ordered = sorted(values, key=lambda s: (s.usubjid, int(s.idvarval), s.qnam))
    rows: list[Row] = [
        {
            "STUDYID": STUDYID,
            "RDOMAIN": parent,
            "USUBJID": s.usubjid,
            "IDVAR": s.idvar,
            "IDVARVAL": s.idvarval,
            "QNAM": s.qnam,
            "QLABEL": s.qlabel,
            "QVAL": s.qval,
            "QORIG": s.qorig,
            "QEVAL": None,
        }
        for s in ordered
    ]
    return Domain(f"SUPP{parent}", SUPP_VARIABLES, rows)


def finish(domain: Domain) -> Dataset:
    meta = ig.dataset(domain.name)
    variables = sorted(domain.variables, key=lambda v: meta.variables[v.name].order)
    columns = tuple(
        Column(
            v,
            meta.variables[v.name].label,
            meta.variables[v.name].type,
            meta.variables[v.name].core,
        )
        for v in variables
    )
    problems = _name_problems(domain.name, meta.label, columns)
    rows = []
    for row in domain.rows:
        values = tuple(_value(row.get(c.var.name), c.type) for c in columns)
        problems += _value_problems(domain.name, row, columns, values)
        rows.append(values)
    if problems:
        raise NotExportable(problems)
    keys = tuple(
        n
        for n in _KEYS.get(domain.name[:4] if domain.name.startswith("SUPP") else domain.name, ())
        if n in meta.variables
    )
    return Dataset(
        domain.name, meta.label, meta.dataset_class, meta.structure, keys, columns, tuple(rows)
    )


def _value(value: Value, kind: str) -> Value:
    if kind == "Num":
        return None if value is None else float(value)
    return None if value is None else clean(str(value))


def _name_problems(name: str, label: str, columns: Sequence[Column]) -> list[Problem]:
    checks = [(name, "dataset name", NAME.match(name) is not None)]
    checks.append((label, "dataset label", len(label) <= MAX_LABEL and printable_ascii(label)))
    for c in columns:
        checks.append((c.var.name, "variable name", NAME.match(c.var.name) is not None))
        checks.append(
            (c.label, "variable label", len(c.label) <= MAX_LABEL and printable_ascii(c.label))
        )
    return [
        Problem(f"SDTM {name}", "", what, value, "not allowed in XPT v5")
        for value, what, ok in checks
        if not ok
    ]


def _value_problems(
    name: str, row: Row, columns: Sequence[Column], values: Sequence[Value]
) -> list[Problem]:
    found = []
    for c, value in zip(columns, values, strict=True):
        if isinstance(value, str) and (len(value) > MAX_TEXT or not printable_ascii(value)):
            where = f"{row.get('USUBJID', '')}".strip()
            why = "longer than 200 characters" if len(value) > MAX_TEXT else "not ASCII"
            found.append(Problem(f"SDTM {name}", where, c.var.name, shown(value), why))
    return found


# the natural keys of each dataset (define.xml KeySequence), where they are variables of it
_KEYS: dict[str, tuple[str, ...]] = {
    "DM": ("STUDYID", "USUBJID"),
    "DS": ("STUDYID", "USUBJID", "DSSTDTC", "DSDECOD"),
    "IE": ("STUDYID", "USUBJID", "IETESTCD"),
    "EX": ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"),
    "AE": ("STUDYID", "USUBJID", "AETERM", "AESTDTC", "AESEQ"),
    "LB": ("STUDYID", "USUBJID", "LBTESTCD", "LBDTC", "LBSEQ"),
    "SV": ("STUDYID", "USUBJID", "VISITNUM"),
    "QS": ("STUDYID", "USUBJID", "QSCAT", "QSTESTCD", "QSDTC", "QSSEQ"),
    "RS": ("STUDYID", "USUBJID", "RSCAT", "RSTESTCD", "RSDTC", "RSSEQ"),
    "DV": ("STUDYID", "USUBJID", "DVSEQ"),
    "CM": ("STUDYID", "USUBJID", "CMTRT", "CMSTDTC", "CMSEQ"),
    "PR": ("STUDYID", "USUBJID", "PRTRT", "PRSTDTC", "PRSEQ"),
    "SUPP": ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
    "TS": ("STUDYID", "TSPARMCD", "TSSEQ"),
    "TA": ("STUDYID", "ARMCD", "TAETORD"),
    "TE": ("STUDYID", "ETCD"),
    "TV": ("STUDYID", "VISITNUM"),
    "TI": ("STUDYID", "IETESTCD"),
}
