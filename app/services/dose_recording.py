"""Recording a dose (SPEC §2.4), on the driver connection: the hot write path.

One locked statement reads the treatment context with the doses already recorded; the rules
decide (`app.domain.dosing`, via `dosing.check`); one statement writes the dose and its
protocol deviations. The response is shaped by the same `dose_out` as every dose read.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.auth import Principal
from app.db.models import Dose, ProtocolDeviation
from app.db.repositories import dose_rows
from app.db.request_db import RequestDb
from app.domain import webhooks
from app.domain.dosing import DoseRecordView
from app.schemas.treatment import DoseIn, DoseOut
from app.services.deviations import load_context_row
from app.services.dosing import RECORD_TABLE, check, columns, dose_out
from app.services.events import record_event


async def record(
    db: RequestDb, principal: Principal, participant_id: uuid.UUID, data: DoseIn
) -> DoseOut:
    ctx, row = await load_context_row(db, principal, participant_id)
    existing = [
        DoseRecordView(*recorded)
        for recorded in zip(
            row["dose_numbers"] or (),
            row["dose_statuses"] or (),
            row["dose_starts"] or (),
            row["dose_ends"] or (),
            strict=True,
        )
    ]
    findings = check(ctx, data, existing, ctx.participant.status)
    dose = Dose(
        id=uuid.uuid4(),
        participant_id=ctx.participant.id,
        dose_number=data.dose_number,
        created_by=principal.user_id,
        version=1,
        **columns(data, findings),
    )
    deviations = [
        {"id": uuid.uuid4(), "kind": f.kind, "rule": f.rule, "detail": f.detail} for f in findings
    ]
    written = await dose_rows.write(
        db.conn,
        {c: getattr(dose, c) for c in dose_rows.COLUMNS},
        deviations,
        data.deviation_reason,
    )
    dose.created_at, dose.updated_at = written["created_at"], None
    await record_event(db.conn, webhooks.DOSE_RECORDED, dose.participant_id, _event_data(dose))
    linked = [
        ProtocolDeviation(
            participant_id=dose.participant_id,
            reason=data.deviation_reason or "",
            record_table=RECORD_TABLE,
            record_id=dose.id,
            created_at=written["deviations_at"],
            **d,
        )
        for d in deviations
    ]
    return dose_out(dose, linked, ctx)


def _event_data(dose: Dose) -> dict[str, Any]:
    """What `dose.recorded` tells a receiver (ids and times; no free text)."""
    return {
        "id": dose.id,
        "dose_number": dose.dose_number,
        "status": dose.status,
        "started_at": dose.started_at,
        "ended_at": dose.ended_at,
    }
