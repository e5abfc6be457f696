"""Why an SDTM export cannot be made: the records, named, that must be corrected first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One value that cannot go into a conformant dataset, and the record it came from."""

    table: str  # the service's table (participants, adverse_events, ...)
    record_id: str
    field: str
    value: str  # the offending value, shortened; non-ASCII characters escaped
    why: str

    def describe(self) -> str:
        return f"{self.table} {self.record_id} {self.field}: {self.why} ({self.value})"


class NotExportable(Exception):
    """Raised by a mapper or the writer; the service answers 409 naming every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} value(s) cannot be exported")
        self.problems = problems
