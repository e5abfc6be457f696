"""FHIR search parameters -> a typed query (pure; the repositories turn it into SQL).

Strict by default: an unknown parameter, a modifier or an unsupported prefix is a 400
OperationOutcome rather than silently ignored (which would widen the result); with
`Prefer: handling=lenient` unknown parameters are ignored, and the self link shows the
parameters used. Repeating a parameter ANDs it; commas inside a value OR it (FHIR R4 §3.1.1).
Date values without a time zone are taken in UTC (a date is the UTC day).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from app.interop.fhir.bundles import FhirError, Issue
from app.interop.fhir.capability import BY_TYPE, RESULT_PARAMETERS, ResourceSupport

DEFAULT_COUNT = 50
MAX_OFFSET = 2**31 - 1
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
_DATE = re.compile(
    r"(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})"
    r"(T(?P<H>\d{2}):(?P<M>\d{2})(:(?P<S>\d{2})(?P<f>\.\d{1,6})?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)
FORMATS = ("json", "application/json", "application/fhir+json")


@dataclass(frozen=True, slots=True)
class Token:
    system: str | None  # None: any system; "" : no system (`|code`)
    code: str


@dataclass(frozen=True, slots=True)
class DateBound:
    """A date parameter: `prefix` against the half-open range [low, high) of its value."""

    prefix: str
    low: datetime
    high: datetime


@dataclass(frozen=True, slots=True)
class SearchQuery:
    resource_type: str
    count: int
    offset: int
    used: tuple[tuple[str, str], ...]  # for the self link
    patients: frozenset[uuid.UUID] | None = None  # subject/patient (None: no filter)
    tokens: dict[str, tuple[tuple[Token, ...], ...]] = field(default_factory=dict)  # AND of ORs
    dates: dict[str, tuple[DateBound, ...]] = field(default_factory=dict)
    references: dict[str, tuple[frozenset[str], ...]] = field(default_factory=dict)

    def any_of(self, name: str) -> tuple[tuple[Token, ...], ...]:
        return self.tokens.get(name, ())


def _bad(name: str, message: str) -> Issue:
    return Issue("invalid", f"search parameter {name}: {message}")


def parse_search(
    resource_type: str,
    params: Sequence[tuple[str, str]],
    *,
    max_count: int,
    lenient: bool = False,
) -> SearchQuery:
    support = BY_TYPE[resource_type]
    issues: list[Issue] = []
    count, offset = min(DEFAULT_COUNT, max_count), 0
    used: list[tuple[str, str]] = []
    patients: frozenset[uuid.UUID] | None = None
    tokens: dict[str, list[tuple[Token, ...]]] = {}
    dates: dict[str, list[DateBound]] = {}
    references: dict[str, list[frozenset[str]]] = {}
    for name, value in params:
        if name in RESULT_PARAMETERS:
            parsed = _result_parameter(name, value, max_count, issues)
            if name == "_count" and parsed is not None:
                count = parsed
            elif name == "_offset" and parsed is not None:
                offset = parsed
            continue
        param = support.param(name)
        if param is None:
            if not lenient:
                issues.append(_unsupported(support, name))
            continue
        used.append((name, value))
        if param.type == "date":
            bounds = [_date_bound(name, v, issues) for v in value.split(",")]
            if len(bounds) > 1:
                issues.append(_bad(name, "a list of dates (OR) is not supported; repeat it (AND)"))
            dates.setdefault(name, []).extend(b for b in bounds if b is not None)
        elif param.type == "token":
            tokens.setdefault(name, []).append(tuple(_token(v) for v in value.split(",")))
        elif name in ("subject", "patient"):
            ids = frozenset(_patient_ids(value.split(",")))
            patients = ids if patients is None else patients & ids
        else:
            targets = frozenset(_reference_targets(value.split(",")))
            references.setdefault(name, []).append(targets)
    if issues:
        raise FhirError(400, issues)
    return SearchQuery(
        resource_type=resource_type,
        count=count,
        offset=offset,
        used=tuple(used),
        patients=patients,
        tokens={k: tuple(v) for k, v in tokens.items()},
        dates={k: tuple(v) for k, v in dates.items()},
        references={k: tuple(v) for k, v in references.items()},
    )


def _unsupported(support: ResourceSupport, name: str) -> Issue:
    accepted = ", ".join(p.name for p in support.search)
    return Issue(
        "not-supported",
        f"search parameter '{name}' is not supported for {support.type} (supported: {accepted};"
        f" {', '.join(RESULT_PARAMETERS)}); send Prefer: handling=lenient to ignore it",
    )


def _result_parameter(name: str, value: str, max_count: int, issues: list[Issue]) -> int | None:
    if name == "_format":
        if value not in FORMATS:
            issues.append(Issue("not-supported", f"_format {value!r}: only JSON is served"))
        return None
    if not value.isdigit():
        issues.append(_bad(name, "must be a non-negative integer"))
        return None
    number = int(value)
    limit = max_count if name == "_count" else MAX_OFFSET
    if number > limit:
        issues.append(_bad(name, f"must be at most {limit}"))
        return None
    return number


def _token(value: str) -> Token:
    if "|" not in value:
        return Token(None, value)
    system, _, code = value.partition("|")
    return Token(system, code)


def _patient_ids(values: Iterable[str]) -> Iterable[uuid.UUID]:
    """`Patient/<id>`, a full URL ending so, or the bare id; an id that is no participant's
    matches nothing (it is no error: any id may be searched for)."""
    for value in values:
        tail = value.rstrip("/").rsplit("/", 2)
        if len(tail) >= 2 and tail[-2] != "Patient":
            continue
        try:
            yield uuid.UUID(tail[-1])
        except ValueError:
            continue


def _reference_targets(values: Iterable[str]) -> Iterable[str]:
    for value in values:
        yield value.rstrip("/").rsplit("/", 1)[-1]


def _date_bound(name: str, raw: str, issues: list[Issue]) -> DateBound | None:
    prefix, value = (raw[:2], raw[2:]) if raw[:2].isalpha() else ("eq", raw)
    value = value.replace(" ", "+")  # an unencoded "+" of a time zone arrives as a space
    if prefix not in DATE_PREFIXES:
        issues.append(
            _bad(name, f"prefix {prefix!r} is not supported ({', '.join(DATE_PREFIXES)})")
        )
        return None
    match = _DATE.fullmatch(value)
    if match is None:
        issues.append(_bad(name, f"{value!r} is not a FHIR date or dateTime"))
        return None
    try:
        low, high = _range(match)
    except ValueError as exc:
        issues.append(_bad(name, f"{value!r}: {exc}"))
        return None
    return DateBound(prefix, low, high)


def _range(m: re.Match[str]) -> tuple[datetime, datetime]:
    year = int(m["y"])
    if m["m"] is None:
        return _utc(date(year, 1, 1)), _utc(date(year + 1, 1, 1))
    month = int(m["m"])
    if m["d"] is None:
        following = date(year + month // 12, month % 12 + 1, 1)
        return _utc(date(year, month, 1)), _utc(following)
    day = date(year, month, int(m["d"]))
    if m["H"] is None:
        return _utc(day), _utc(day + timedelta(days=1))
    zone = UTC if m["tz"] in (None, "Z") else _offset(m["tz"])
    fraction = m["f"] or ""
    low = datetime(
        year,
        month,
        day.day,
        int(m["H"]),
        int(m["M"]),
        int(m["S"] or 0),
        int((fraction[1:] + "000000")[:6]) if fraction else 0,
        tzinfo=zone,
    )
    if m["S"] is None:
        step = timedelta(minutes=1)
    elif not fraction:
        step = timedelta(seconds=1)
    else:
        step = timedelta(microseconds=10 ** (6 - (len(fraction) - 1)))
    return low.astimezone(UTC), (low + step).astimezone(UTC)


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _offset(text: str) -> timezone:
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
