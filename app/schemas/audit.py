"""Audit trail views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

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
    valid: bool = Field(description="every chain recomputes and every audit row is linked")
    checked: int = Field(description="audit rows verified")
    first_invalid: int | None = Field(description="the first altered, missing or foreign row")
    head_id: int | None = Field(
        description="the audit id of the newest link (null when not valid): with head_hash,"
        " an anchor to keep outside the database"
    )
    head_hash: str | None = Field(
        description="the anchor hash at head_id: SHA-256 over the 16 chains' newest links"
    )
    anchor_ok: bool | None = Field(
        description="with anchor_id and anchor_hash: whether the chains still hold that hash"
        " at that row (false after a rewrite, even one resealed by recomputing the chain)"
    )
