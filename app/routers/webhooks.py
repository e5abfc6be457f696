"""Webhook subscriptions (admin; SPEC §12). The secret is in the creation response only."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.auth import Admin
from app.deps import PageDep, SessionDep
from app.problems import error_responses
from app.schemas.common import PageOut
from app.schemas.webhooks import DeliveryOut, WebhookCreatedOut, WebhookIn, WebhookOut
from app.services import webhooks as service
from app.services.versions import etag
from app.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # a secret: see idempotency


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]


@router.post(
    "/webhooks",
    status_code=201,
    operation_id="createWebhook",
    responses=error_responses(401, 403, 503),
)
async def create_webhook(
    data: WebhookIn,
    session: SessionDep,
    principal: Admin,
    settings: SettingsDep,
    response: Response,
) -> WebhookCreatedOut:
    """Subscribe a receiver to event types (optionally of one site). The answer carries the
    signing secret, shown this once (`Cache-Control: no-store`; an Idempotency-Key replay
    answers 409)."""
    created = await service.register(session, principal, data, settings)
    response.headers["Location"] = f"/api/v1/webhooks/{created.id}"
    response.headers.update(NO_STORE)
    return created


@router.get("/webhooks", operation_id="listWebhooks", responses=error_responses(401, 403))
async def list_webhooks(session: SessionDep, _: Admin, page: PageDep) -> PageOut[WebhookOut]:
    """Every subscription, active or not, oldest first; secrets are never shown again."""
    items, total = await service.list_subscriptions(session, page.limit, page.offset)
    return PageOut[WebhookOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/webhooks/{webhook_id}", operation_id="getWebhook", responses=error_responses(401, 403, 404)
)
async def get_webhook(
    webhook_id: uuid.UUID, session: SessionDep, _: Admin, response: Response
) -> WebhookOut:
    """One subscription: its URL, events, site filter and whether it is active (no secret)."""
    shown = service.out(await service.get(session, webhook_id))
    response.headers["ETag"] = etag(shown.version)
    return shown


@router.delete(
    "/webhooks/{webhook_id}",
    operation_id="deactivateWebhook",
    responses=error_responses(401, 403, 404),
)
async def deactivate_webhook(webhook_id: uuid.UUID, session: SessionDep, _: Admin) -> WebhookOut:
    """Deactivate: no new deliveries, pending ones fail. The record stays (audited)."""
    return await service.deactivate(session, webhook_id)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    operation_id="listWebhookDeliveries",
    responses=error_responses(401, 403, 404),
)
async def list_deliveries(
    webhook_id: uuid.UUID, session: SessionDep, _: Admin, page: PageDep
) -> PageOut[DeliveryOut]:
    """Newest first: status, attempts, the receiver's last status code, and times."""
    items, total = await service.deliveries(session, webhook_id, page.limit, page.offset)
    return PageOut[DeliveryOut](items=items, total=total, limit=page.limit, offset=page.offset)
