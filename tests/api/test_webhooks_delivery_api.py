"""Webhook delivery against a real local receiver (SPEC §12): Standard Webhooks signatures,
retries under one webhook-id, Retry-After, failure after the horizon, SKIP LOCKED between
two claimers, and time-driven events that fire once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from standardwebhooks import Webhook

from app.db.repositories import webhook_rows
from app.services.events import record_event
from tests.api.webhook_helpers import FAST, ae_body, delivery, drain, events_of, subscribe, worker
from tests.helpers import make_randomized, randomized_days_ago
from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
async def hooks(client, admin_headers):  # type: ignore[no-untyped-def]
    """Subscriptions made by a test, deactivated after it (their pending deliveries fail)."""
    made: list[str] = []
    yield made
    for hid in made:
        await client.delete(f"/api/v1/webhooks/{hid}", headers=admin_headers)


async def _hook(client, admin_headers, hooks, receiver, events, site):  # type: ignore[no-untyped-def]
    created = await subscribe(client, admin_headers, receiver.url, events, site)
    hooks.append(created["id"])
    return created


async def test_signed_delivery_verifies_with_standardwebhooks(
    client, admin_headers, investigator, site, app, settings, receiver, hooks
):
    hook = await _hook(client, admin_headers, hooks, receiver, ["participant.randomized"], site)
    p, allocation = await make_randomized(client, admin_headers, investigator)
    w = worker(app, settings, **FAST)
    try:
        await drain(w, lambda: len(receiver.received) >= 1)
    finally:
        await w.stop()
    got = receiver.received[0]
    headers = {k.lower(): v for k, v in got.headers.items()}
    payload = Webhook(hook["secret"]).verify(got.body, headers)
    assert payload["type"] == "participant.randomized"
    assert payload["data"]["participant_id"] == p["id"]
    assert payload["data"]["site_code"] == site
    assert payload["data"]["arm"] == allocation["arm"]
    assert headers["webhook-signature"].startswith("v1,")
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook(hook["secret"]).verify(got.body.replace(b"randomized", b"withdrawn"), headers)
    listed = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin_headers)
    item = listed.json()["items"][0]
    assert item["status"] == "delivered"
    assert item["attempts"] == 1
    assert item["last_status_code"] == 200
    assert item["event_id"] == headers["webhook-id"]


async def test_two_500s_then_delivered_on_the_third_under_one_id(
    client, admin_headers, investigator, site, app, settings, receiver, hooks, db
):
    receiver.script = [(500, {}), (500, {})]
    hook = await _hook(client, admin_headers, hooks, receiver, ["participant.randomized"], site)
    await make_randomized(client, admin_headers, investigator)
    w = worker(app, settings, **FAST)
    try:
        await drain(w, lambda: len(receiver.received) >= 3)
        row = await delivery(db, hook["id"])
        while row["status"] == "pending":  # the third answer is being recorded
            await asyncio.sleep(0.01)
            row = await delivery(db, hook["id"])
    finally:
        await w.stop()
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(ids) == 1
    assert row["status"] == "delivered"
    assert row["attempts"] == 3
    assert str(row["event_id"]) in ids
    for r in receiver.received:  # each attempt is signed afresh, and verifies
        Webhook(hook["secret"]).verify(r.body, {k.lower(): v for k, v in r.headers.items()})


async def test_retry_after_is_honoured(
    client, admin_headers, investigator, site, app, settings, receiver, hooks, db
):
    receiver.script = [(503, {"Retry-After": "120"})]
    hook = await _hook(client, admin_headers, hooks, receiver, ["participant.randomized"], site)
    await make_randomized(client, admin_headers, investigator)
    w = worker(app, settings)
    try:
        await drain(w, lambda: len(receiver.received) >= 1)
    finally:
        await w.stop()
    row = await delivery(db, hook["id"])
    assert row["status"] == "pending"
    assert row["last_status_code"] == 503
    assert row["next_attempt_at"] - row["last_attempt_at"] >= timedelta(seconds=119)


async def test_failed_after_the_retry_horizon(
    client, admin_headers, investigator, site, app, settings, receiver, hooks, db
):
    receiver.script = [(500, {})]
    hook = await _hook(client, admin_headers, hooks, receiver, ["participant.randomized"], site)
    await make_randomized(client, admin_headers, investigator)
    w = worker(app, settings, **FAST, webhook_retry_horizon_seconds=0.001)
    try:
        await drain(w, lambda: len(receiver.received) >= 1)
    finally:
        await w.stop()
    row = await delivery(db, hook["id"])
    assert row["status"] == "failed"
    assert row["attempts"] == 1
    assert row["last_status_code"] == 500
    assert row["finished_at"] is not None


async def _events(db, pid: str, n: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        await record_event(db, "dose.recorded", uuid.UUID(pid), {"id": str(uuid.uuid4())})


async def test_two_claimers_never_take_the_same_row(
    client, admin_headers, investigator, site, app, settings, receiver, hooks, db, database_url
):
    await _hook(client, admin_headers, hooks, receiver, ["dose.recorded"], site)
    p, _ = await make_randomized(client, admin_headers, investigator)
    await _events(db, p["id"], 6)
    other = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        first, second = db.transaction(), other.transaction()
        await first.start()
        await second.start()
        a = await webhook_rows.claim(db, 4, 60)  # holds its rows' locks until commit
        b = await webhook_rows.claim(other, 10, 60)
        assert len(a) == 4
        assert {r["id"] for r in a}.isdisjoint({r["id"] for r in b})
        await first.rollback()
        await second.rollback()
    finally:
        await other.close()
    # two workers delivering at once: every event arrives once
    await _events(db, p["id"], 10)
    w1, w2 = worker(app, settings, **FAST), worker(app, settings, **FAST)
    try:
        for _ in range(200):
            if len(receiver.received) >= 16:
                break
            await asyncio.gather(w1.run_once(), w2.run_once())
    finally:
        await asyncio.gather(w1.stop(), w2.stop())
    counts = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(counts) == 16
    assert set(counts.values()) == {1}


async def test_overdue_events_fire_once(
    client, admin_headers, investigator, site, app, settings, receiver, hooks, db, monkeypatch
):
    await _hook(
        client,
        admin_headers,
        hooks,
        receiver,
        ["adverse_event.report_overdue", "visit.overdue"],
        site,
    )
    p, _ = await randomized_days_ago(client, admin_headers, investigator, monkeypatch, 10)
    aware = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    sae = ae_body(serious=True, aware=aware)
    r = await client.post(
        f"/api/v1/participants/{p['id']}/adverse-events", json=sae, headers=investigator.headers
    )
    assert r.status_code == 201, r.text
    w = worker(app, settings, **FAST)
    try:
        for _ in range(2):  # a second scan finds nothing new
            await w.scan_overdue()
        overdue = await events_of(db, "adverse_event.report_overdue", p["id"])
        visits = await events_of(db, "visit.overdue", p["id"])
        await drain(w, lambda: len(receiver.received) >= 4)
    finally:
        await w.stop()
    assert [json.loads(e["payload"])["data"]["report"] for e in overdue] == ["sae_report"]
    # Day 11: Days 4 and 7 were missed, Day 10 is past its target (still in window)
    assert sorted(json.loads(e["payload"])["data"]["visit_day"] for e in visits) == [4, 7, 10]
    types = Counter(json.loads(r.body)["type"] for r in receiver.received)
    assert types == {"adverse_event.report_overdue": 1, "visit.overdue": 3}
