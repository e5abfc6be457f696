"""Offline SDTM conformance checks: what CDISC CORE would check that can be checked here.

CDISC CORE (cdisc-rules-engine) cannot run offline on Python 3.11 (docs/sdtm.md,
"Conformance"), so these checks stand in for it, driven by the vendored SDTMIG 3.4 metadata and
CDISC CT 2022-06-24. They read plain tables, so the export runs them on its datasets before
writing any file and the tests run them again on the XPT files read back with pyreadstat.

Errors: dataset and variable names (<= 8, A-Z0-9_), labels (<= 40, ASCII, the IG's label),
variables the IG does not define for the domain, Char/Num types, values (ASCII, <= 200),
ISO 8601 --DTC, --TESTCD (<= 8), values of non-extensible codelists (and the exact terms we pin
for them), required variables present and never empty, STUDYID and DOMAIN, --SEQ unique per
USUBJID, --ENDTC not before --STDTC, --DY = the SDTM study day of --DTC from DM.RFSTDTC,
--STRESN = --STRESC, DM one record per USUBJID and every USUBJID in DM, LBLOINC the analyte's
LOINC, VISITNUM in TV, ARMCD in TA, ETCD in TE, the TS parameters a submission needs, SUPP--
records pointing at a parent record.
Warnings: expected variables missing, empty required variables that are known gaps (AEDECOD:
MedDRA coding is the sponsor's), values of extensible codelists outside the CDISC terms other
than the sponsor terms `terminology` declares (e.g. a UCUM unit without a pinned CDISC term).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from app.domain.analytes import ANALYTES
from app.interop.cdisc import standard as ig
from app.interop.cdisc import terminology as ct
from app.interop.cdisc.common import MAX_TEXT, STUDYID, Value, sdtm_day
from app.interop.cdisc.text import printable_ascii

ISO8601 = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?)?)?$")
NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
KNOWN_GAPS = frozenset({"AE.AEDECOD"})  # empty required variables the docs explain
REQUIRED_TS = ("SSTDTC", "SDTIGVER", "SDTMVER", "TITLE", "STYPE", "RANDOM", "PLANSUB")
# exact terms for the CDISC codelists we pin (the 2022 superset also holds preferred terms
# and synonyms, so it alone would accept "Female" for SEX)
EXACT = {cl.nci: cl.values for cl in ct.CODELISTS.values() if cl.nci}
# sponsor terms the export adds on purpose to extensible codelists (def:ExtendedValue="Yes")
DECLARED_EXTENSIONS = frozenset(
    {t.value for cl in ct.CODELISTS.values() for t in cl.terms if t.extended} | ct.SPONSOR_UNITS
)
LOINC_OF = {code: ANALYTES[key].loinc for key, (code, _) in ct.LB_TESTS.items()}


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    label: str
    columns: tuple[tuple[str, str, str], ...]  # (name, label, Char | Num)
    rows: tuple[tuple[Value, ...], ...]

    def values(self, column: str) -> list[Value]:
        i = [c[0] for c in self.columns].index(column)
        return [row[i] for row in self.rows]

    def records(self) -> Iterable[dict[str, Value]]:
        names = [c[0] for c in self.columns]
        for row in self.rows:
            yield dict(zip(names, row, strict=True))

    def has(self, column: str) -> bool:
        return column in {c[0] for c in self.columns}


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: int = 0

    def check(self, ok: bool, message: str, *, warning: bool = False) -> None:
        self.checked += 1
        if not ok:
            (self.warnings if warning else self.errors).append(message)


def check(tables: Sequence[Table]) -> Report:
    report = Report()
    by_name = {t.name: t for t in tables}
    for t in tables:
        _dataset(report, t)
    _cross(report, by_name)
    return report


def _empty(v: Value) -> bool:
    return v is None or v == "" or (isinstance(v, float) and v != v)


def _dataset(r: Report, t: Table) -> None:
    r.check(NAME.match(t.name) is not None, f"{t.name}: dataset name")
    r.check(
        0 < len(t.label) <= 40 and printable_ascii(t.label), f"{t.name}: dataset label {t.label!r}"
    )
    meta = ig.dataset(t.name)
    for name, label, kind in t.columns:
        v = meta.variables.get(name)
        r.check(NAME.match(name) is not None, f"{t.name}.{name}: variable name")
        r.check(v is not None, f"{t.name}.{name}: not an SDTMIG 3.4 {t.name} variable")
        if v is None:
            continue
        r.check(label == v.label, f"{t.name}.{name}: label {label!r} is not the IG's {v.label!r}")
        r.check(kind == v.type, f"{t.name}.{name}: type {kind} is not the IG's {v.type}")
        if kind == "Char":
            _char_values(r, t, name, [x for x in t.values(name) if not _empty(x)], v.codelists)
    for name, v in meta.variables.items():
        if v.core == "Req":
            present = t.has(name) and not any(_empty(x) for x in t.values(name))
            gap = f"{t.name}.{name}" in KNOWN_GAPS
            r.check(present, f"{t.name}.{name}: required variable missing or empty", warning=gap)
        elif v.core == "Exp":
            r.check(t.has(name), f"{t.name}.{name}: expected variable missing", warning=True)
    _record_rules(r, t)


def _char_values(
    r: Report, t: Table, name: str, values: list[Value], codelists: tuple[str, ...]
) -> None:
    texts = [str(x) for x in values]
    bad = [x for x in texts if len(x.encode()) > MAX_TEXT or not printable_ascii(x)]
    r.check(not bad, f"{t.name}.{name}: {len(bad)} value(s) not ASCII or > 200 bytes")
    if name.endswith("DTC"):
        bad = [x for x in texts if not ISO8601.match(x)]
        r.check(not bad, f"{t.name}.{name}: not ISO 8601: {bad[:3]}")
    if name.endswith("TESTCD") or name == "QNAM":
        bad = [x for x in texts if not NAME.match(x)]
        r.check(not bad, f"{t.name}.{name}: not a name of <= 8 characters: {bad[:3]}")
    known = [ig.codelist(code) for code in codelists if code in ig.codelist_codes()]
    if not known:
        return
    allowed: set[str] = set()
    for meta in known:  # a variable linked to several codelists takes a term of any of them
        allowed |= EXACT.get(meta.code, meta.terms) if not meta.extensible else meta.terms
    outside = sorted({x for x in texts if x not in allowed and x not in DECLARED_EXTENSIONS})
    extensible = all(meta.extensible for meta in known)
    codes = "/".join(meta.code for meta in known)
    message = f"{t.name}.{name}: not in codelist {codes}: {outside[:3]}"
    r.check(not outside, message, warning=extensible)


def _record_rules(r: Report, t: Table) -> None:
    p = t.name[:2]
    if t.has("STUDYID"):
        r.check(set(t.values("STUDYID")) <= {STUDYID}, f"{t.name}: STUDYID")
    if t.has("DOMAIN"):
        r.check(set(t.values("DOMAIN")) <= {t.name}, f"{t.name}: DOMAIN")
    if t.has(f"{p}SEQ") and t.has("USUBJID"):
        keys = list(zip(t.values("USUBJID"), t.values(f"{p}SEQ"), strict=True))
        r.check(len(keys) == len(set(keys)), f"{t.name}: {p}SEQ not unique within USUBJID")
    if t.has(f"{p}STDTC") and t.has(f"{p}ENDTC"):
        late = [
            x for x in t.records()
            if not _empty(x[f"{p}STDTC"]) and not _empty(x[f"{p}ENDTC"])
            and str(x[f"{p}ENDTC"])[:10] < str(x[f"{p}STDTC"])[:10]
        ]  # fmt: skip
        r.check(not late, f"{t.name}: {p}ENDTC before {p}STDTC in {len(late)} record(s)")
    if t.has(f"{p}STRESC") and t.has(f"{p}STRESN"):
        bad = [
            x for x in t.records()
            if not _empty(x[f"{p}STRESN"]) and _number(x[f"{p}STRESC"]) != x[f"{p}STRESN"]
        ]  # fmt: skip
        r.check(not bad, f"{t.name}: {p}STRESN differs from {p}STRESC in {len(bad)} record(s)")


def _date(value: Value) -> date | None:
    """The date part of an ISO 8601 --DTC; None when empty or not ISO 8601."""
    if _empty(value) or not ISO8601.match(str(value)) or len(str(value)) < 10:
        return None
    return date.fromisoformat(str(value)[:10])


def _number(value: Value) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _cross(r: Report, tables: dict[str, Table]) -> None:
    dm = tables.get("DM")
    r.check(dm is not None, "DM: missing")
    if dm is None:
        return
    subjects = dm.values("USUBJID")
    r.check(len(subjects) == len(set(subjects)), "DM: USUBJID not unique")
    start = {
        str(u): d for u, s in zip(subjects, dm.values("RFSTDTC"), strict=True) if (d := _date(s))
    }
    for t in tables.values():
        if t.has("USUBJID") and t.name != "DM":
            orphans = sorted({str(u) for u in t.values("USUBJID")} - {str(u) for u in subjects})
            r.check(not orphans, f"{t.name}: USUBJID not in DM: {orphans[:3]}")
        _study_days(r, t, start)
    _design(r, tables)
    _supp(r, tables)
    lb = tables.get("LB")
    if lb is not None:
        bad = [x for x in lb.records() if LOINC_OF.get(str(x["LBTESTCD"])) != x["LBLOINC"]]
        r.check(not bad, f"LB: LBLOINC is not the analyte's LOINC in {len(bad)} record(s)")


def _study_days(r: Report, t: Table, start: dict[str, date]) -> None:
    for dy in [c[0] for c in t.columns if c[0].endswith("DY") and c[0] != "VISITDY"]:
        stem = dy[:-2]
        dtc = f"{stem}DTC" if t.has(f"{stem}DTC") else None
        if dtc is None:
            continue
        wrong = 0
        for x in t.records():
            if not _empty(x[dtc]) and _date(x[dtc]) is None:
                continue  # not ISO 8601: reported by the value checks
            expected = sdtm_day(start.get(str(x.get("USUBJID"))), _date(x[dtc]))
            actual = None if _empty(x[dy]) else int(float(str(x[dy])))
            wrong += expected != actual or actual == 0
        r.check(wrong == 0, f"{t.name}.{dy}: not the study day of {dtc} in {wrong} record(s)")


def _design(r: Report, tables: dict[str, Table]) -> None:
    tv, ta, te, ts = (tables.get(n) for n in ("TV", "TA", "TE", "TS"))
    r.check(None not in (tv, ta, te, ts), "trial design datasets TS, TA, TE, TV missing")
    if tv is None or ta is None or te is None or ts is None:
        return
    visits = set(tv.values("VISITNUM"))
    arms = set(ta.values("ARMCD"))
    for t in tables.values():
        if t.has("VISITNUM") and t.name != "TV":
            stray = {v for v in t.values("VISITNUM") if not _empty(v)} - visits
            r.check(not stray, f"{t.name}: VISITNUM not in TV: {sorted(map(str, stray))[:3]}")
        for arm in ("ARMCD", "ACTARMCD"):
            if t.has(arm) and t.name != "TA":
                stray = {v for v in t.values(arm) if not _empty(v)} - arms
                r.check(not stray, f"{t.name}.{arm}: not in TA: {sorted(map(str, stray))[:3]}")
    r.check(set(ta.values("ETCD")) <= set(te.values("ETCD")), "TA: ETCD not in TE")
    parameters = set(ts.values("TSPARMCD"))
    missing = [p for p in REQUIRED_TS if p not in parameters]
    r.check(not missing, f"TS: parameters missing: {missing}")


def _supp(r: Report, tables: dict[str, Table]) -> None:
    for t in tables.values():
        if not t.name.startswith("SUPP"):
            continue
        parent = tables.get(t.name[4:])
        r.check(parent is not None, f"{t.name}: no parent dataset")
        if parent is None:
            continue
        seq = f"{parent.name}SEQ"
        keys = set(
            zip(
                map(str, parent.values("USUBJID")),
                (str(int(float(str(s)))) for s in parent.values(seq)),
                strict=True,
            )
        )
        orphans = [x for x in t.records() if (str(x["USUBJID"]), str(x["IDVARVAL"])) not in keys]
        r.check(not orphans, f"{t.name}: {len(orphans)} record(s) without a parent record")
        counts: dict[tuple[str, str, str], int] = defaultdict(int)
        for x in t.records():
            counts[(str(x["USUBJID"]), str(x["IDVARVAL"]), str(x["QNAM"]))] += 1
        r.check(max(counts.values(), default=1) == 1, f"{t.name}: QNAM repeated for a record")
