"""The record of every CDISC export: who made it, when, of what, and the file's hash."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, Timestamped, UUIDKey

EXPORT_KINDS = ("sdtm", "odm")


class Export(UUIDKey, Timestamped, Base):
    """One export (audited like every table): who (`created_by`), when (`created_at`), what
    (`kind`, `standard`, `row_counts`, the audit-trail position `audit_head_id` the data
    reflects) and the SHA-256 of the exact bytes sent. Never updated."""

    __tablename__ = "exports"
    __table_args__ = (CheckConstraint("kind IN ('sdtm','odm')", name="kind"),)

    kind: Mapped[str]
    standard: Mapped[str]
    filename: Mapped[str]
    media_type: Mapped[str]
    sha256: Mapped[str]
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    row_counts: Mapped[dict[str, Any]] = mapped_column(JSONB)
    audit_head_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
