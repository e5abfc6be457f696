"""The audit trail and the infrastructure tables (idempotency store)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, LargeBinary, SmallInteger, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base


class AuditEntry(Base):
    """Written only by the database trigger `audit.log_change`; never by the app."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_table_record", "table_name", "record_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
    txid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("pg_current_xact_id()::text::bigint")
    )
    actor_user_id: Mapped[str | None]
    actor_role: Mapped[str | None]
    actor_site: Mapped[str | None]
    request_id: Mapped[str | None]
    reason: Mapped[str | None]
    db_user: Mapped[str] = mapped_column(server_default=text("current_user"))
    table_name: Mapped[str]
    record_id: Mapped[str]
    participant_id: Mapped[str | None] = mapped_column(index=True)
    action: Mapped[str]
    old_values: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new_values: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class AuditChainLink(Base):
    __tablename__ = "audit_chain"

    chain: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    audit_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_log.id"), unique=True)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary)
    method: Mapped[str]
    path: Mapped[str]
    response_status: Mapped[int]
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    response_headers: Mapped[dict[str, str]] = mapped_column(JSONB)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
