"""Idempotency-Key: the same key and body replay the first response, across processes.

The record is written in the request's own transaction, so it commits or vanishes with the
data it guards. A response that carries a secret (it says `Cache-Control: no-store`, as every
route that returns a token does) is never stored: the key is remembered, the body is not, and
a replay answers 409.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field

import asyncpg
from starlette.types import Scope

from app.auth import Principal
from app.settings import Settings

IDEMPOTENCY_HEADER = b"idempotency-key"
MAX_IDEMPOTENCY_KEY_LENGTH = 255
STORED_HEADERS = {"content-type", "location", "etag"}
WITHHELD_DETAIL = (
    "The first request with this Idempotency-Key succeeded, but its response carried a secret"
    " (a token or a webhook secret), which is never stored, so it cannot be replayed. Use a"
    " new key; list the user's tokens (GET /api/v1/users/{id}/tokens) or the webhooks"
    " (GET /api/v1/webhooks) to find the one created."
)


@dataclass
class Captured:
    """A response as the app produced it (the middleware sends it after the commit)."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)

    def header(self, name: bytes) -> str:
        return ", ".join(v.decode("latin-1") for k, v in self.headers if k.lower() == name)


@dataclass(frozen=True)
class IdemKey:
    user_id: uuid.UUID
    key: str
    request_hash: bytes
    method: str
    path: str


@dataclass(frozen=True)
class Refusal:
    status: int
    detail: str
    field: str | None = None


def carries_secret(captured: Captured) -> bool:
    return "no-store" in captured.header(b"cache-control").lower()


LOCK_SQL = "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))"
FIND_SQL = (
    "SELECT request_hash, response_status, response_body, response_headers,"
    " withheld, expires_at > now() AS live FROM idempotency_keys"
    " WHERE user_id = $1 AND key = $2"
)
STORE_SQL = (
    "INSERT INTO idempotency_keys (user_id, key, request_hash, method, path,"
    " response_status, response_body, response_headers, withheld, created_at,"
    " expires_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, now(),"
    " now() + make_interval(hours => $10))"
    " ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
    " method = EXCLUDED.method, path = EXCLUDED.path,"
    " response_status = EXCLUDED.response_status,"
    " response_body = EXCLUDED.response_body,"
    " response_headers = EXCLUDED.response_headers, withheld = EXCLUDED.withheld,"
    " created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at"
)


async def gate(
    conn: asyncpg.Connection,
    scope: Scope,
    key: str | None,
    body: bytes,
    principal: Principal | None,
) -> Captured | Refusal | IdemKey | None:
    """A replayed response, a refusal, the key to store the response under, or nothing."""
    if key is None or scope["method"] != "POST" or principal is None:
        return None
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
        return Refusal(
            422,
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} printable characters",
            "header.Idempotency-Key",
        )
    request_hash = hashlib.sha256(
        scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body
    ).digest()
    if not await conn.fetchval(LOCK_SQL, f"{principal.user_id}:{key}"):
        return Refusal(409, "A request with this Idempotency-Key is still in flight")
    row = await conn.fetchrow(FIND_SQL, principal.user_id, key)
    if row is not None and row["live"]:
        if bytes(row["request_hash"]) != request_hash:
            return Refusal(
                422,
                "This Idempotency-Key was used with a different request body",
                "header.Idempotency-Key",
            )
        if row["withheld"]:
            return Refusal(409, WITHHELD_DETAIL, "header.Idempotency-Key")
        headers = [(k.encode(), v.encode()) for k, v in row["response_headers"].items()]
        headers.append((b"idempotent-replayed", b"true"))
        return Captured(row["response_status"], headers, bytearray(row["response_body"]))
    # no record, or an expired one (the key may be used afresh: `store` overwrites it)
    return IdemKey(principal.user_id, key, request_hash, scope["method"], scope["path"])


async def store(
    conn: asyncpg.Connection, idem: IdemKey, captured: Captured, settings: Settings
) -> None:
    """Upsert: an expired record is overwritten (the app role may not DELETE)."""
    withheld = carries_secret(captured)
    headers = {
        k.decode(): v.decode()
        for k, v in captured.headers
        if not withheld and k.decode().lower() in STORED_HEADERS
    }
    await conn.execute(
        STORE_SQL,
        idem.user_id,
        idem.key,
        idem.request_hash,
        idem.method,
        idem.path,
        captured.status,
        b"" if withheld else bytes(captured.body),
        json.dumps(headers),
        withheld,
        settings.idempotency_ttl_hours,
    )
