"""Webhook subscriptions and their deliveries, for the admin API."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Site, WebhookDelivery, WebhookEvent, WebhookSubscription


async def site_id(session: AsyncSession, code: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await session.scalar(select(Site.id).where(Site.code == code))
    return found


def _with_site() -> Any:
    return select(WebhookSubscription, Site.code).outerjoin(
        Site, Site.id == WebhookSubscription.site_id
    )


async def subscription(session: AsyncSession, subscription_id: uuid.UUID) -> Any:
    """(subscription, site code), or None."""
    return (
        await session.execute(_with_site().where(WebhookSubscription.id == subscription_id))
    ).first()


async def subscriptions(session: AsyncSession, limit: int, offset: int) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(WebhookSubscription)) or 0
    rows = await session.execute(
        _with_site()
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


async def for_update(
    session: AsyncSession, subscription_id: uuid.UUID
) -> WebhookSubscription | None:
    return await session.scalar(
        select(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def abandon_pending(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """A deactivated subscription's pending deliveries fail at once (nobody wants them)."""
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == "pending",
        )
        .values(status="failed", last_error="subscription deactivated", finished_at=func.now())
    )


async def deliveries(
    session: AsyncSession, subscription_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[Any], int]:
    """(delivery, event type) newest first, and the total."""
    where = WebhookDelivery.subscription_id == subscription_id
    total = await session.scalar(select(func.count()).select_from(WebhookDelivery).where(where))
    rows = await session.execute(
        select(WebhookDelivery, WebhookEvent.type)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(where)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
