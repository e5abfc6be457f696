"""Voiding records entered in error."""

from __future__ import annotations

import uuid
from datetime import datetime

from app.schemas.common import InputModel, OutputModel, Reason


class VoidIn(InputModel):
    reason: Reason


class VoidOut(OutputModel):
    id: uuid.UUID
    record_type: str
    voided_at: datetime
    void_reason: str
    version: int
