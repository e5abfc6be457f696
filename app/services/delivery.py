"""The delivery worker: runs inside every service process (SPEC §12; docs/webhooks.md).

Each round claims due deliveries in a short transaction (FOR UPDATE SKIP LOCKED, the claim's
lease written into `next_attempt_at`, commit), then POSTs them with no transaction open, then
records each answer in another short transaction. Workers in other processes skip the rows
one has claimed; a worker that dies mid-delivery leaves its rows to be claimed again when
the lease runs out (at-least-once). It polls: no LISTEN, so it works through PgBouncer in
transaction mode. Signing is the `standardwebhooks` library's; `webhook-id` is the event's
id, the same on every attempt and for every retry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from app.db.repositories import webhook_rows
from app.domain import webhooks as rules
from app.services import overdue_events, webhook_secrets
from app.services.webhooks import resolved_problem
from app.settings import Settings

log = logging.getLogger(__name__)
USER_AGENT = "aclf-trial-webhooks/1"


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one POST came to: the receiver's status (None: no answer) and why it failed."""

    status_code: int | None
    error: str | None = None
    retry_after: float | None = None


class DeliveryWorker:
    """Claims, sends and records deliveries; at most `webhook_max_in_flight` at a time."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.policy = rules.RetryPolicy(
            settings.webhook_first_retry_seconds,
            settings.webhook_max_retry_seconds,
            settings.webhook_retry_horizon_seconds,
        )
        self.client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=settings.webhook_max_in_flight),
        )
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    async def stop(self) -> None:
        """Stop claiming; let the attempts under way finish (their leases would expire)."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=self.settings.webhook_timeout_seconds)
        await self.client.aclose()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_scan = 0.0
        while not self._stopping.is_set():
            try:
                if loop.time() >= next_scan:
                    await self.scan_overdue()
                    next_scan = loop.time() + self.settings.webhook_overdue_scan_seconds
                await self.claim_and_start()
            except Exception:  # the database may be away; the loop carries on
                log.exception("webhook delivery round failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.webhook_poll_seconds)

    # --- one round (also called directly by the tests) --------------------------------------
    async def claim_and_start(self) -> list[asyncio.Task[None]]:
        """Claim as many due deliveries as there are free slots and start sending them."""
        free = self.settings.webhook_max_in_flight - len(self._in_flight)
        if free <= 0:
            return []
        async with self._transaction() as conn:
            rows = await webhook_rows.claim(conn, free, self.settings.webhook_lease_seconds)
        tasks = [asyncio.create_task(self._deliver(row)) for row in rows]
        for task in tasks:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return tasks

    async def run_once(self) -> int:
        """Claim, send and record one round; the number of deliveries attempted."""
        tasks = await self.claim_and_start()
        if tasks:
            await asyncio.gather(*tasks)
        return len(tasks)

    async def scan_overdue(self) -> int:
        async with self._transaction() as conn:
            return await overdue_events.scan(conn, datetime.now(UTC))

    # --- one delivery ----------------------------------------------------------------------
    async def _deliver(self, row: asyncpg.Record) -> None:
        try:
            attempt = await self.attempt(row)
            await self._record(row, attempt)
        except Exception:  # its lease runs out and it is tried again
            log.exception("webhook delivery %s failed unexpectedly", row["id"])

    async def attempt(self, row: asyncpg.Record) -> Attempt:
        """Sign and POST the event; never raises for the receiver's faults."""
        if self.settings.webhook_secret_key is None:
            return Attempt(None, "WEBHOOK_SECRET_KEY is not set: nothing can be signed")
        key = webhook_secrets.key(self.settings)
        secret = webhook_secrets.unseal(key, row["subscription_id"], row["secret_ciphertext"])
        if secret is None:
            return Attempt(None, "the secret does not decrypt (WEBHOOK_SECRET_KEY changed?)")
        url, allow = row["url"], self.settings.webhook_allow_http
        refused = rules.url_problem(url, allow_http=allow) or await resolved_problem(
            url, allow_local=allow
        )
        if refused is not None:
            return Attempt(None, f"refused: the URL {refused}")
        now = datetime.now(UTC)
        message_id = str(row["event_id"])
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, now, row["body"]),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }
        try:
            request = self.client.build_request(
                "POST",
                url,
                content=row["body"].encode(),
                headers=headers,
                timeout=self.settings.webhook_timeout_seconds,
            )
            response = await self.client.send(request, stream=True)  # the body is not read
            await response.aclose()
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            return Attempt(None, f"{type(exc).__name__}: {exc}"[:300])
        ok = rules.delivered(response.status_code)
        retry_after = rules.parse_retry_after(response.headers.get("retry-after"), now)
        return Attempt(response.status_code, None if ok else "not 2xx", retry_after)

    async def _record(self, row: asyncpg.Record, attempt: Attempt) -> None:
        delivery_id, attempts = row["id"], row["attempts"]
        async with self._transaction() as conn:
            if attempt.status_code is not None and rules.delivered(attempt.status_code):
                await webhook_rows.finish(
                    conn, delivery_id, attempts, rules.DELIVERED, attempt.status_code, None
                )
                return
            at = rules.next_attempt_at(
                attempts=attempts,
                created_at=row["created_at"],
                now=datetime.now(UTC),
                retry_after=attempt.retry_after,
                policy=self.policy,
                factor=rules.jitter_factor(delivery_id),
            )
            if at is None:
                await webhook_rows.finish(
                    conn, delivery_id, attempts, rules.FAILED, attempt.status_code, attempt.error
                )
            else:
                await webhook_rows.retry(
                    conn, delivery_id, attempts, at, attempt.status_code, attempt.error
                )

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, one short transaction, as the app role."""
        proxied = await self.engine.raw_connection()
        try:
            conn: asyncpg.Connection = proxied.driver_connection
            async with conn.transaction():
                await conn.execute(webhook_rows.ENTER_ROLE, self.settings.db_app_role)
                yield conn
        finally:
            proxied.close()
