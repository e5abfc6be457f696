"""What text may go into an XPT v5 dataset, and which records hold text that may not.

SAS XPT v5 has no encoding marker, and regulators (FDA Technical Conformance Guide; China's
CDE follows it) expect ASCII. The service stores UTF-8 text as entered. The export does not
transliterate (a "u" for a "µ", pinyin for a Chinese term would change what was recorded):
a record holding a character outside printable ASCII refuses the SDTM export, and the answer
names every such record, table, field and character, so that a data manager corrects it
through the API (audited, with a reason) and exports again. Tabs and line breaks are the one
exception: they become spaces (a line break in a free-text reason carries no data).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

from app.interop.cdisc import records
from app.interop.cdisc.errors import Problem

WHITESPACE = re.compile(r"[\t\r\n]")
_TABLES: dict[type, str] = {
    records.Participant: "participants",
    records.Screening: "screenings",
    records.Consent: "consents",
    records.Dose: "doses",
    records.Visit: "visits",
    records.LabResult: "lab_results",
    records.AdverseEvent: "adverse_events",
    records.Treatment: "treatments",
    records.Outcome: "outcomes",
    records.Deviation: "protocol_deviations",
}


def printable_ascii(text: str) -> bool:
    return all(32 <= ord(c) < 127 for c in text)


def clean(text: str) -> str:
    """Tabs and line breaks as spaces (nothing else changes)."""
    return WHITESPACE.sub(" ", text)


def shown(text: str, limit: int = 60) -> str:
    """The text with every character outside printable ASCII escaped (\\u00b5)."""
    escaped = text.encode("ascii", "backslashreplace").decode("ascii")
    return escaped if len(escaped) <= limit else escaped[: limit - 3] + "..."


def problems(study: records.Study) -> list[Problem]:
    """Every text value of every record that is not printable ASCII (after `clean`)."""
    found: list[Problem] = []
    for p in study.participants:
        _walk(p, found)
    return found


def _walk(record: object, found: list[Problem]) -> None:
    table = _TABLES.get(type(record))
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        if dataclasses.is_dataclass(value):
            _walk(value, found)
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            for item in value:
                _walk(item, found)
        elif table is not None:
            for text in _texts(value):
                if not printable_ascii(clean(text)):
                    record_id = str(getattr(record, "id", ""))
                    found.append(Problem(table, record_id, f.name, shown(text), "not ASCII"))


def _texts(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _texts(k)
            yield from _texts(v)
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _texts(v)
