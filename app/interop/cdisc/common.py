"""What every SDTM mapper shares: the dataset shape, dates, study days, epochs, --SEQ, SUPP--.

Conventions (docs/sdtm.md states them for the reader of the datasets):
- `--DTC` are ISO 8601 without a time zone, in the site's local time (the trial's study days
  are site-local calendar dates): dates `YYYY-MM-DD`, times `YYYY-MM-DDThh:mm:ss`.
- `--DY` is the SDTM study day relative to RFSTDTC (Day 1, the randomization date): the date
  itself is day 1, the day before is day -1; there is no day 0. It equals the service's
  study day on and after Day 1 (app.domain.study_days), which never needs a day before it.
- Text longer than 200 characters is split the SDTMIG 3.4 way (section 4.5.3.2): the first
  200 characters stay in the variable, the rest go to SUPP-- as QNAM <variable>1, 2, ...
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.domain import protocol
from app.interop.cdisc.errors import NotExportable, Problem
from app.interop.cdisc.records import Participant
from app.interop.cdisc.terminology import EPOCH_FOLLOW_UP, EPOCH_SCREENING, EPOCH_TREATMENT

STUDYID = protocol.TRIAL_CODE
MAX_TEXT = 200  # bytes of an XPT v5 character value (ASCII: characters)
# The treatment period ends on the target day of the last dose (Day 10; SPEC §10 uses the
# same period for the FHIR ResearchSubject status), or on the day of the participant's last
# dose when that is later (dose 4 may be given on Day 11, inside its window).
TREATMENT_PERIOD_LAST_DAY = protocol.DOSE_WINDOWS[protocol.DOSE_COUNT].target_day

Value = str | int | float | None
Row = dict[str, Value]

# Define-XML 2.1 origin types (def:Origin/@Type)
COLLECTED = "Collected"
DERIVED = "Derived"
ASSIGNED = "Assigned"
PROTOCOL = "Protocol"
NOT_AVAILABLE = "Not Available"  # a variable the service does not collect (kept: Expected)


@dataclass(frozen=True, slots=True)
class Var:
    """One exported variable: its origin (Define-XML def:Origin) and where its values come
    from, in words that name the API field or the rule (define.xml comments, docs/sdtm.md)."""

    name: str
    origin: str
    source: str
    codelist: str | None = None  # a key of terminology.CODELISTS
    method: str | None = None  # a key of define_methods.METHODS


@dataclass(frozen=True, slots=True)
class Supp:
    """One supplemental qualifier value (a SUPP-- row)."""

    usubjid: str
    idvar: str
    idvarval: str
    qnam: str
    qlabel: str
    qval: str
    qorig: str


@dataclass(slots=True)
class Domain:
    """A dataset's variables (in SDTMIG order) and rows, with its supplemental qualifiers."""

    name: str
    variables: tuple[Var, ...]
    rows: list[Row]
    supp: list[Supp] = field(default_factory=list)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)


# --- dates and times ------------------------------------------------------------------------
def dtc(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def dtc_local(moment: datetime | None, timezone: str) -> str | None:
    """An instant as site-local ISO 8601 date-time to the second, without the zone."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None).isoformat("T", "seconds")


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def sdtm_day(reference: date | None, on: date | None) -> int | None:
    """SDTM --DY: on/after the reference day count from 1, before it from -1 (no day 0)."""
    if reference is None or on is None:
        return None
    days = (on - reference).days
    return days + 1 if days >= 0 else days


def rfstdtc(p: Participant) -> date | None:
    """The reference start date: Day 1, the date of randomization, for both arms."""
    return p.allocation.day1 if p.allocation else None


def study_day(p: Participant, on: date | None) -> int | None:
    return sdtm_day(rfstdtc(p), on)


def epoch(p: Participant, on: date | None) -> str | None:
    """SCREENING before Day 1 (and for anyone never randomized), TREATMENT from Day 1 to the
    end of the treatment period (`treatment_end`), FOLLOW-UP after it."""
    if on is None:
        return None
    end = treatment_end(p)
    if p.allocation is None or end is None or on < p.allocation.day1:
        return EPOCH_SCREENING
    return EPOCH_TREATMENT if on <= end else EPOCH_FOLLOW_UP


def treatment_end(p: Participant) -> date | None:
    """The last day of the TREATMENT epoch: Day 10, or the day of a later last dose."""
    if p.allocation is None:
        return None
    planned = p.allocation.day1 + timedelta(days=TREATMENT_PERIOD_LAST_DAY - 1)
    doses = [local_date(d.started_at, p.timezone) for d in p.doses]
    return max([planned, *doses])


# --- values ----------------------------------------------------------------------------------
def decimal_text(value: Decimal | float | int) -> str:
    """A number as plain text without exponent or trailing zeros: 180, 1.8, 0.0004."""
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    text = f"{d.normalize():f}"
    return "0" if text in ("-0", "") else text


def number(value: Decimal | float | int | None) -> float | None:
    return None if value is None else float(value)


def coded(mapping: Mapping[str, str], value: str, table: str, record: object, field: str) -> str:
    """The controlled term of an API code; a code without one refuses the export (a record
    changed behind the service's back could hold one)."""
    term = mapping.get(value)
    if term is None:
        raise NotExportable([Problem(table, str(record), field, value[:40], "no controlled term")])
    return term


def yes_no(flag: bool) -> str:
    return "Y" if flag else "N"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most `limit` characters, cut at the last space when there is one."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind(" ", 1, limit + 1)
        cut = cut if cut > 0 else limit
        chunks.append(rest[:cut])
        rest = rest[cut:]
    chunks.append(rest)
    return chunks


def long_text(
    row: Row,
    variable: str,
    text: str | None,
    *,
    index: int,
    seq_var: str,
    label: str,
    supp: list[Supp],
) -> None:
    """Put `text` into `row[variable]`; what exceeds 200 characters goes to SUPP-- as QNAM
    <variable>1, <variable>2, ... referring to the row at `index` of the domain's rows."""
    if text is None:
        row[variable] = None
        return
    first, *more = split_text(text)
    row[variable] = first
    for i, chunk in enumerate(more, start=1):
        qnam = f"{variable[: 8 - len(str(i))]}{i}"
        qlabel = f"{label} (part {i + 1})"[:40]
        supp.append(Supp(str(row["USUBJID"]), seq_var, ref(index), qnam, qlabel, chunk, COLLECTED))


# --- ordering and --SEQ ----------------------------------------------------------------------
def sequence(rows: list[Row], seq_var: str, supp: Sequence[Supp] = ()) -> list[Supp]:
    """Number the rows 1, 2, ... per USUBJID in their order; SUPP-- rows that refer to a row
    by its list position (idvarval = "#<index>") get that row's --SEQ."""
    counters: dict[object, int] = defaultdict(int)
    positions: dict[int, int] = {}
    for i, row in enumerate(rows):
        counters[row["USUBJID"]] += 1
        row[seq_var] = counters[row["USUBJID"]]
        positions[i] = counters[row["USUBJID"]]
    resolved = []
    for s in supp:
        if s.idvarval.startswith("#"):
            s = Supp(
                s.usubjid,
                s.idvar,
                str(positions[int(s.idvarval[1:])]),
                s.qnam,
                s.qlabel,
                s.qval,
                s.qorig,
            )
        resolved.append(s)
    return resolved


def ref(index: int) -> str:
    """A SUPP-- reference to the row at `index` of the domain's row list (see `sequence`)."""
    return f"#{index}"


def base_row(domain: str, p: Participant) -> Row:
    return {"STUDYID": STUDYID, "DOMAIN": domain, "USUBJID": p.study_id}


def with_variables(variables: Iterable[Var], row: Mapping[str, Value]) -> Row:
    """The row restricted to, and ordered as, the dataset's variables (missing -> None)."""
    return {v.name: row.get(v.name) for v in variables}
