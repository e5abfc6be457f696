"""SMART Backend Services clients (SPEC §10.4) and the assertion ids they have used."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, ForeignKey, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, Timestamped, UUIDKey


class IntegrationClient(UUIDKey, Timestamped, Base):
    """A system that gets tokens by client credentials: its public keys (JWKS), the scopes
    it may be granted, and the `integration` user (of one site) its tokens act as. The
    client_id of the assertions is this row's id."""

    __tablename__ = "integration_clients"

    name: Mapped[str]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    jwks: Mapped[dict[str, Any]] = mapped_column(JSONB)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String))
    active: Mapped[bool] = mapped_column(server_default=text("true"), default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    version: Mapped[int] = mapped_column(server_default=text("1"), default=1)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)
    deactivation_reason: Mapped[str | None] = mapped_column(default=None)

    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}


class ClientAssertionJti(Base):
    """A `jti` seen in an accepted client assertion, kept until the assertion's `exp`."""

    __tablename__ = "client_assertion_jtis"

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integration_clients.id"), primary_key=True
    )
    jti: Mapped[str] = mapped_column(primary_key=True)
    expires_at: Mapped[datetime]
