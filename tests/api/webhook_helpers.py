"""Shared by the webhook tests: subscribe, count outbox rows, run a worker until done."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from app.services.delivery import DeliveryWorker
from app.settings import Settings

FAST = {
    "webhook_first_retry_seconds": 0.01,
    "webhook_max_retry_seconds": 0.02,
    "webhook_timeout_seconds": 5.0,
}


async def subscribe(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    url: str,
    events: list[str],
    site: str | None,
) -> dict[str, Any]:
    body = {"url": url, "events": events, "site_code": site}
    r = await client.post("/api/v1/webhooks", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return dict(r.json())


def worker(app: Any, settings: Settings, **overrides: Any) -> DeliveryWorker:
    """A delivery worker of the test's own (the test app runs none), on the app's engine."""
    return DeliveryWorker(app.state.engine, settings.model_copy(update=overrides))


async def drain(w: DeliveryWorker, done: Callable[[], bool], rounds: int = 500) -> None:
    """Run delivery rounds until `done()` (a bound on rounds, not a timing assertion)."""
    for _ in range(rounds):
        if done():
            return
        if await w.run_once() == 0:
            await asyncio.sleep(0.01)
    raise AssertionError("the deliveries did not finish")


async def events_of(db: Any, event_type: str, participant_id: str) -> list[Any]:
    return list(
        await db.fetch(
            "SELECT * FROM webhook_events WHERE type = $1"
            " AND payload->'data'->>'participant_id' = $2",
            event_type,
            participant_id,
        )
    )


async def delivery(db: Any, subscription_id: str) -> Any:
    return await db.fetchrow(
        "SELECT * FROM webhook_deliveries WHERE subscription_id = $1", uuid.UUID(subscription_id)
    )


def ae_body(*, serious: bool, aware: datetime | None = None) -> dict[str, Any]:
    """An adverse event of the control arm (not related): serious by hospitalization."""
    aware = aware or datetime.now(UTC).replace(microsecond=0)
    return {
        "term": "Variceal bleeding" if serious else "Fever",
        "onset_date": aware.date().isoformat(),
        "ctcae_grade": 3 if serious else 2,
        "serious": serious,
        "seriousness_criteria": ["hospitalization"] if serious else [],
        "relatedness": "not_related",
        "expectedness": "expected",
        "outcome": "recovering",
        "aware_at": aware.isoformat(),
    }
