"""Webhook subscriptions (admin; SPEC §12): register, list, read, deactivate, deliveries.

A URL is checked twice: here, when it is registered (scheme, then every address its host
resolves to), and again by the delivery worker before each attempt, since DNS may change
(`resolved_problem`). Under WEBHOOK_ALLOW_HTTP (development and tests) both checks let
http and local addresses through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import WebhookSubscription
from app.db.repositories import webhooks as repo
from app.domain import webhooks as rules
from app.domain.errors import InvalidData, NotFound
from app.schemas.webhooks import DeliveryOut, WebhookCreatedOut, WebhookIn, WebhookOut
from app.services import webhook_secrets
from app.settings import Settings

RESOLVE_TIMEOUT_SECONDS = 3.0
DEACTIVATION_REASON = "webhook subscription deactivated"


async def resolved_problem(url: str, *, allow_local: bool) -> str | None:
    """Why the service must not call this URL's host as it resolves now (None: it may)."""
    if allow_local:
        return None
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM),
            RESOLVE_TIMEOUT_SECONDS,
        )
    except (OSError, TimeoutError):
        return "host does not resolve"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        problem = rules.address_problem(address, allow_local=False)
        if problem is not None:
            return problem
    return None


async def check_url(url: str, settings: Settings) -> None:
    """422 on `url` for a scheme, a form or an address the service will not call."""
    allow = settings.webhook_allow_http
    problem = rules.url_problem(url, allow_http=allow) or await resolved_problem(
        url, allow_local=allow
    )
    if problem is not None:
        raise InvalidData.one("url", problem)


def out(row: Any) -> WebhookOut:
    subscription: WebhookSubscription = row[0]
    return WebhookOut(
        id=subscription.id,
        url=subscription.url,
        events=list(subscription.events),
        site_code=row.code,
        active=subscription.active,
        created_at=subscription.created_at,
        deactivated_at=subscription.deactivated_at,
        version=subscription.version,
    )


async def register(
    session: AsyncSession, principal: Principal, data: WebhookIn, settings: Settings
) -> WebhookCreatedOut:
    """The new subscription with its secret (shown this once)."""
    sealing_key = webhook_secrets.key(settings)
    await check_url(data.url, settings)
    site_id = None
    if data.site_code is not None:
        site_id = await repo.site_id(session, data.site_code)
        if site_id is None:
            raise InvalidData.one("site_code", "no such site")
    secret = webhook_secrets.new_secret()
    subscription_id = uuid.uuid4()
    session.add(
        WebhookSubscription(
            id=subscription_id,
            url=data.url,
            events=sorted(set(data.events)),
            site_id=site_id,
            secret_ciphertext=webhook_secrets.seal(sealing_key, subscription_id, secret),
            created_by=principal.user_id,
        )
    )
    await session.flush()
    shown = out(await get(session, subscription_id))
    return WebhookCreatedOut(**shown.model_dump(), secret=secret)


async def get(session: AsyncSession, subscription_id: uuid.UUID) -> Any:
    row = await repo.subscription(session, subscription_id)
    if row is None:
        raise NotFound("No such webhook subscription")
    return row


async def list_subscriptions(
    session: AsyncSession, limit: int, offset: int
) -> tuple[list[WebhookOut], int]:
    rows, total = await repo.subscriptions(session, limit, offset)
    return [out(r) for r in rows], total


async def deactivate(session: AsyncSession, subscription_id: uuid.UUID) -> WebhookOut:
    """Inactive from now on (kept, audited); its pending deliveries fail. Repeating is a
    no-op, so a retried DELETE answers the same."""
    subscription = await repo.for_update(session, subscription_id)
    if subscription is None:
        raise NotFound("No such webhook subscription")
    if subscription.active:
        await set_reason(session, DEACTIVATION_REASON)
        now = clock.utc_now()
        subscription.active, subscription.deactivated_at, subscription.updated_at = False, now, now
        await session.flush()
        await repo.abandon_pending(session, subscription.id)
    return out(await get(session, subscription_id))


async def deliveries(
    session: AsyncSession, subscription_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[DeliveryOut], int]:
    await get(session, subscription_id)
    rows, total = await repo.deliveries(session, subscription_id, limit, offset)
    items = [
        DeliveryOut(
            id=d.id,
            event_id=d.event_id,
            event_type=event_type,
            status=d.status,
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
            last_attempt_at=d.last_attempt_at,
            next_attempt_at=d.next_attempt_at if d.status == rules.PENDING else None,
            finished_at=d.finished_at,
        )
        for d, event_type in rows
    ]
    return items, total
