"""Audit trail views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.schemas.common import OutputModel


class AuditEntryOut(OutputModel):
    id: int
    occurred_at: datetime
    actor_user_id: str | None
    actor_role: str | None
    actor_site: str | None
    request_id: str | None
    reason: str | None
    db_user: str
    table_name: str
    record_id: str
    participant_id: str | None
    action: str
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None


class AuditVerifyOut(OutputModel):
    valid: bool
    checked: int
    first_invalid: int | None
    head_hash: str | None
