"""The score series of a participant: baseline first, then each visit, with change from baseline."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import Screening
from app.db.repositories import participants as participants_repo
from app.db.repositories import treatment as repo
from app.schemas.treatment import ScoreAssessmentOut
from app.services.deviations import load_context

CHANGE_DECIMALS = 3


async def score_series(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID
) -> list[ScoreAssessmentOut]:
    """Baseline (the latest screening at or before randomization) first, then each visit."""
    ctx = await load_context(session, principal, participant_id)
    baseline: Screening | None
    if ctx.allocation is not None:
        baseline = await repo.baseline_screening(
            session, ctx.participant.id, ctx.allocation.randomized_at
        )
    else:
        baseline = await participants_repo.latest_screening(session, ctx.participant.id)
    base_scores: dict[str, Any] = baseline.scores if baseline else {}
    series: list[ScoreAssessmentOut] = []
    if baseline is not None:
        series.append(
            ScoreAssessmentOut(
                visit_day=None,
                date=baseline.assessment_date,
                source="screening",
                record_id=baseline.id,
                scores=_with_change(base_scores, base_scores),
            )
        )
    for visit in await repo.visits(session, ctx.participant.id):
        series.append(
            ScoreAssessmentOut(
                visit_day=visit.visit_day,
                date=visit.visit_date,
                source="visit",
                record_id=visit.id,
                scores=_with_change(visit.scores, base_scores),
            )
        )
    return series


def _with_change(scores: dict[str, Any], baseline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each score with its change from baseline (null when baseline lacks that score).

    The change is taken on the displayed `score` (COSSH-ACLF II rounded to 3 decimals), so
    `score - baseline score == change_from_baseline` holds for what a client sees.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, entry in scores.items():
        base = baseline.get(name)
        change: float | int | None = None
        if base is not None:
            delta = Decimal(str(entry["score"])) - Decimal(str(base["score"]))
            change = (
                int(delta)
                if isinstance(entry["score"], int)
                else float(round(delta, CHANGE_DECIMALS))
            )
        out[name] = {**entry, "change_from_baseline": change}
    return out
