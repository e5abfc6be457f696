"""Screenings and visits seen alike, for the findings made of them (QS, RS)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.interop.cdisc import terminology as ct
from app.interop.cdisc.common import Row, epoch, study_day
from app.interop.cdisc.ie import SCREENING_VISIT
from app.interop.cdisc.records import Participant


@dataclass(frozen=True, slots=True)
class Assessment:
    table: str  # screenings | visits
    id: uuid.UUID
    on: date
    visitnum: float
    visit: str
    he_grade: int | None
    ascites: str | None
    symptoms: Mapping[str, int] | None
    labs: Mapping[str, Any]
    scores: Mapping[str, Any]
    baseline: bool  # the baseline screening of a randomized participant

    def timing(self, p: Participant, prefix: str) -> Row:
        """VISITNUM, VISIT, EPOCH, --LOBXFL, --DTC and --DY of a record of this assessment."""
        screening = self.table == "screenings"
        return {
            "VISITNUM": self.visitnum,
            "VISIT": self.visit,
            "EPOCH": ct.EPOCH_SCREENING if screening else epoch(p, self.on),
            f"{prefix}LOBXFL": "Y" if self.baseline else None,
            f"{prefix}DTC": self.on.isoformat(),
            f"{prefix}DY": study_day(p, self.on),
        }


def assessments(p: Participant) -> list[Assessment]:
    """Every screening (in the order recorded), then every visit (by visit day)."""
    baseline = p.baseline if p.allocation is not None else None
    found = [
        Assessment(
            "screenings", s.id, s.assessment_date, SCREENING_VISIT[0], SCREENING_VISIT[1],
            s.he_grade, s.ascites, s.symptoms, s.labs, s.scores, s is baseline,
        )
        for s in p.screenings
    ]  # fmt: skip
    found += [
        Assessment(
            "visits", v.id, v.visit_date, float(v.visit_day), f"DAY {v.visit_day}",
            v.he_grade, v.ascites, v.symptoms, v.labs, v.scores, False,
        )
        for v in sorted(p.visits, key=lambda v: v.visit_day)
    ]  # fmt: skip
    return found


def score(scores: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """A stored score entry ({score, version, ...}) when it holds a score."""
    entry = scores.get(name)
    if isinstance(entry, Mapping) and entry.get("score") is not None:
        return entry
    return None
