"""The webhook delivery worker through PgBouncer in transaction mode (SPEC §12): it polls and
keeps only transaction-scoped state (row locks, `set_config(..., true)`, an xact advisory
lock for the overdue scan), so claiming, recording and scanning work through the pooler."""

from __future__ import annotations

from standardwebhooks import Webhook

from app.db.engine import make_engine
from app.services.delivery import DeliveryWorker
from tests.api.webhook_helpers import FAST, delivery, drain, subscribe
from tests.helpers import make_actor, make_randomized, make_site
from tests.pgbouncer.conftest import backend_of
from tests.webhook_receiver import Receiver


async def test_worker_delivers_through_pgbouncer(
    client, admin_headers, pgbouncer, database_url, settings, db
):
    receiver = Receiver().start()
    site = await make_site(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    hook = await subscribe(client, admin_headers, receiver.url, ["participant.randomized"], site)
    p, _ = await make_randomized(client, admin_headers, inv)
    url = pgbouncer.url(backend_of(database_url)[3])
    pooled = settings.model_copy(update={"database_url": url, "db_pgbouncer": True, **FAST})
    engine = make_engine(url, pooled)
    w = DeliveryWorker(engine, pooled)
    try:
        await w.scan_overdue()
        await drain(w, lambda: len(receiver.received) >= 1)
    finally:
        await w.stop()
        await engine.dispose()
        receiver.stop()
        await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=admin_headers)
    got = receiver.received[0]
    event = Webhook(hook["secret"]).verify(got.body, {k.lower(): v for k, v in got.headers.items()})
    assert event["data"]["participant_id"] == p["id"]
    assert (await delivery(db, hook["id"]))["attempts"] == 1
