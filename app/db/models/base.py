"""Declarative base: naming convention, UUID keys, timezone-aware timestamps."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, MetaData, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}
    # fetch server defaults (created_at, ids) with RETURNING: no lazy load in async code
    __mapper_args__ = {"eager_defaults": True}


class UUIDKey:
    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, server_default=text("gen_random_uuid()"), default=uuid.uuid4
    )


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Versioned:
    """Optimistic concurrency: the version is the ETag; a stale If-Match fails."""

    version: Mapped[int] = mapped_column(server_default=text("1"), default=1)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    void_reason: Mapped[str | None] = mapped_column(default=None)
