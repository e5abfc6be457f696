"""A service SIGKILLed in the middle of delivering a committed SAE delivers it after restart.

The receiver holds the first request open; the whole service (uvicorn and its worker) is
killed while it waits. The delivery's claim (its lease) then runs out, and the restarted
service sends the same event again, under the same `webhook-id` (at-least-once).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading

import httpx
from standardwebhooks import Webhook

from tests.api.webhook_helpers import ae_body, delivery, subscribe
from tests.conftest import ServerProcess
from tests.faults.conftest import wait_until
from tests.helpers import make_actor, make_randomized, make_site
from tests.webhook_receiver import Receiver

WORKER_ENV = {
    "WEBHOOK_WORKER": "true",
    "WEBHOOK_ALLOW_HTTP": "true",
    "WEBHOOK_POLL_SECONDS": "0.1",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_LEASE_SECONDS": "3",
    "WEBHOOK_FIRST_RETRY_SECONDS": "0.1",
}


def _start(database_url: str) -> ServerProcess:
    proc = ServerProcess(database_url, workers=1, extra_env=WORKER_ENV)
    proc.wait_ready()
    return proc


async def test_killed_service_delivers_the_sae_after_restart(
    client, admin_headers, database_url, db
):
    # other tests' (and the contract fuzzer's) receivers get nothing from these servers
    await db.execute("UPDATE webhook_subscriptions SET active = false WHERE active")
    await db.execute(
        "UPDATE webhook_deliveries SET status = 'failed', finished_at = now(),"
        " last_error = 'test isolation' WHERE status = 'pending'"
    )
    receiver = Receiver(hold=threading.Event()).start()
    site = await make_site(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    p, _ = await make_randomized(client, admin_headers, inv, arm="control")
    hook = await subscribe(client, admin_headers, receiver.url, ["adverse_event.serious"], site)
    first = await asyncio.to_thread(_start, database_url)
    second = None
    try:
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as c:
            r = await c.post(
                f"/api/v1/participants/{p['id']}/adverse-events",
                json=ae_body(serious=True),
                headers=inv.headers,
            )
        assert r.status_code == 201, r.text  # committed
        assert len(await asyncio.to_thread(receiver.wait_for, 1)) == 1
        os.killpg(first.proc.pid, signal.SIGKILL)  # mid-delivery: the receiver still holds it
        first.proc.wait(15)
        assert receiver.hold is not None
        receiver.hold.set()
        second = await asyncio.to_thread(_start, database_url)
        got = await asyncio.to_thread(receiver.wait_for, 2)
        assert len(got) >= 2
        assert got[0].headers["webhook-id"] == got[1].headers["webhook-id"]
        payload = Webhook(hook["secret"]).verify(
            got[1].body, {k.lower(): v for k, v in got[1].headers.items()}
        )
        assert payload["type"] == "adverse_event.serious"
        assert payload["data"]["participant_id"] == p["id"]

        async def delivered() -> bool:
            return (await delivery(db, hook["id"]))["status"] == "delivered"

        await wait_until(delivered, timeout=30)
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.stop()
        receiver.stop()
        await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=admin_headers)
