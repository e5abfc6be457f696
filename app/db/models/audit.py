"""The audit trail and the infrastructure tables (idempotency store)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, aliased, mapped_column

from app.db.models.base import Base


class AuditEntry(Base):
    """Written only by the database trigger `audit.log_change`; never by the app."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_table_record", "table_name", "record_id"),
        Index("ix_audit_log_txid_id", "txid", "id"),  # the change feed's order (0008)
    )

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
    __table_args__ = (Index("ix_audit_chain_chain_link_no", "chain", "link_no"),)

    chain: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    audit_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_log.id"), unique=True)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
    # global order of linking across the chains (audit.link_seq); null before migration 0006
    link_no: Mapped[int | None] = mapped_column(BigInteger, default=None)


# The app role has no rights on audit_log: it reads the trail through the view audit.trail
# (owned by trial_audit, SELECT only). A separate MetaData keeps the view out of Alembic's
# table comparisons; `AuditTrail` maps AuditEntry onto it.
audit_trail_view = Table(
    "trail",
    MetaData(schema="audit"),
    Column("id", BigInteger, primary_key=True),
    *(Column(c.name, c.type) for c in AuditEntry.__table__.columns if c.name != "id"),
)
AuditTrail = aliased(AuditEntry, audit_trail_view, adapt_on_names=True)


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
    # the response carried a secret (a token): never stored, a replay of the key answers 409
    withheld: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
