"""Webhook subscriptions, the outbox of events, and their deliveries (SPEC §12)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, ForeignKey, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, Timestamped, UUIDKey


class WebhookSubscription(UUIDKey, Timestamped, Base):
    """A receiver: its URL, the event types it wants, an optional site filter, and its
    signing secret sealed at rest. Deactivated, never deleted."""

    __tablename__ = "webhook_subscriptions"

    url: Mapped[str]
    events: Mapped[list[str]] = mapped_column(ARRAY(String))
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id"), default=None)
    secret_ciphertext: Mapped[bytes]
    active: Mapped[bool] = mapped_column(server_default=text("true"), default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    version: Mapped[int] = mapped_column(server_default=text("1"), default=1)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)

    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}


class WebhookEvent(UUIDKey, Base):
    """One event of the outbox, written with the change it announces."""

    __tablename__ = "webhook_events"

    type: Mapped[str]
    subject_key: Mapped[str | None] = mapped_column(default=None)
    site_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WebhookDelivery(UUIDKey, Timestamped, Base):
    """One event for one subscription: its state, attempts and the last answer."""

    __tablename__ = "webhook_deliveries"

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_events.id"))
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    status: Mapped[str] = mapped_column(server_default=text("'pending'"), default="pending")
    attempts: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
