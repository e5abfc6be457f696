"""Data management (SPEC §13): locks, electronic signatures, SDV marks, data queries.

The locks are enforced by triggers on the clinical tables (migration 0013), not by these
models: the models only record the state the triggers read.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, UUIDKey

RESOURCE_CHECK = (
    "resource IN ('visit','dose','adverse_event','screening','lab_result','outcome','treatment')"
)


class LockState:
    """Who locked and unlocked, when, and why it was unlocked (the audit trail has the rest)."""

    locked_at: Mapped[datetime | None] = mapped_column(default=None)
    locked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    unlocked_at: Mapped[datetime | None] = mapped_column(default=None)
    unlocked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    unlock_reason: Mapped[str | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(server_default=sql("1"), default=1)


class StudyLock(LockState, Base):
    """One row (id 1): whether the whole study is frozen for the final analysis."""

    __tablename__ = "study_lock"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    locked: Mapped[bool] = mapped_column(server_default=sql("false"), default=False)

    __mapper_args__ = {"version_id_col": LockState.version, "eager_defaults": True}


class CasebookLock(UUIDKey, LockState, Base):
    """The lock of one participant's casebook (one row per participant, re-used)."""

    __tablename__ = "casebook_locks"

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), unique=True)
    locked: Mapped[bool]

    __mapper_args__ = {"version_id_col": LockState.version, "eager_defaults": True}


class Signature(UUIDKey, Base):
    """The manifest of an electronic signature (21 CFR 11.50). Never updated but for the
    invalidation mark, which PostgreSQL sets itself on any later change (migration 0013)."""

    __tablename__ = "signatures"
    __table_args__ = (CheckConstraint("meaning IN ('approval')", name="meaning"),)

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), index=True)
    signer_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    signer_username: Mapped[str]
    signer_full_name: Mapped[str]
    signer_role: Mapped[str]
    meaning: Mapped[str]
    signed_at: Mapped[datetime] = mapped_column(server_default=sql("clock_timestamp()"))
    casebook_sha256: Mapped[str] = mapped_column(String(64))
    canonical_version: Mapped[str]
    invalidated_at: Mapped[datetime | None] = mapped_column(default=None)
    invalidated_by_table: Mapped[str | None] = mapped_column(default=None)
    invalidated_by_record: Mapped[uuid.UUID | None] = mapped_column(default=None)


class SdvMark(UUIDKey, Base):
    """A record verified against its source; cleared (by PostgreSQL) when the record changes."""

    __tablename__ = "sdv_marks"
    __table_args__ = (CheckConstraint(RESOURCE_CHECK, name="resource"),)

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), index=True)
    resource: Mapped[str]
    record_id: Mapped[uuid.UUID]
    verified_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime] = mapped_column(server_default=sql("now()"))
    cleared_at: Mapped[datetime | None] = mapped_column(default=None)


class DataQuery(UUIDKey, Base):
    """A discrepancy raised on one record (and optionally one field) of a participant."""

    __tablename__ = "queries"
    __table_args__ = (
        CheckConstraint(RESOURCE_CHECK, name="resource"),
        CheckConstraint("status IN ('open','answered','closed')", name="status"),
    )

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"), index=True)
    resource: Mapped[str]
    record_id: Mapped[uuid.UUID]
    field: Mapped[str | None] = mapped_column(default=None)
    text: Mapped[str]
    status: Mapped[str] = mapped_column(server_default="open", default="open", index=True)
    automatic: Mapped[bool] = mapped_column(server_default=sql("false"), default=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(server_default=sql("now()"))
    updated_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(server_default=sql("1"), default=1)

    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}


class QueryMessage(UUIDKey, Base):
    """One step of a query's life: opened, a response, closed, re-opened, a correction."""

    __tablename__ = "query_messages"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('opened','response','closed','reopened','correction')", name="kind"
        ),
    )

    query_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queries.id"), index=True)
    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participants.id"))
    kind: Mapped[str]
    text: Mapped[str | None] = mapped_column(default=None)
    correction_record_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    author_role: Mapped[str | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(server_default=sql("now()"))
