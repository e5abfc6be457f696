"""Webhook subscriptions and their deliveries (SPEC §12)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from app.schemas.common import InputModel, OutputModel

EventType = Literal[
    "participant.randomized",
    "dose.recorded",
    "visit.recorded",
    "outcome.recorded",
    "adverse_event.serious",
    "adverse_event.susar",
    "adverse_event.report_overdue",
    "visit.overdue",
]


class WebhookIn(InputModel):
    url: Annotated[str, StringConstraints(min_length=8, max_length=2000)] = Field(
        description="https URL of the receiver (http only when WEBHOOK_ALLOW_HTTP=true);"
        " refused when it resolves to a loopback, link-local or metadata address",
        examples=["https://partner.example.org/hooks/trial"],
    )
    events: list[EventType] = Field(min_length=1, max_length=8, examples=[["dose.recorded"]])
    site_code: str | None = Field(
        default=None, max_length=20, description="only this site's events (default: all sites)"
    )


class WebhookOut(OutputModel):
    id: uuid.UUID
    url: str
    events: list[str]
    site_code: str | None
    active: bool
    created_at: datetime
    deactivated_at: datetime | None
    version: int


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        description="the signing secret (Standard Webhooks, `whsec_…`): shown only in this"
        " response, never again"
    )


class DeliveryOut(OutputModel):
    id: uuid.UUID
    event_id: uuid.UUID = Field(description="the `webhook-id` header of every attempt")
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None = Field(description="the receiver's last HTTP status")
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="while pending")
    finished_at: datetime | None
