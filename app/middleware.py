"""One owner of each API request's transaction.

For every `/api/` request this middleware opens one database transaction, authenticates the
bearer token (and sets the audit actor for the transaction), applies idempotency, runs the
route, and commits only if the response is a success — *before* the client sees it, so an
acknowledged write is a committed write. The idempotency record is written in the same
transaction as the data it guards, so they commit or vanish together.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import Principal
from app.domain.errors import FieldError
from app.problems import problem_response
from app.security import token_digest
from app.settings import Settings

log = logging.getLogger(__name__)

TOKEN_LAST_USED_RESOLUTION_S = 60
IDEMPOTENCY_HEADER = "idempotency-key"
MAX_IDEMPOTENCY_KEY_LENGTH = 255
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock timeout
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "57")  # connection exceptions, operator intervention
INTEGRITY_CLASS = "23"  # a constraint refused it (a race past the service's own checks)
DATA_EXCEPTION_CLASS = "22"  # the input was bad: a safety net behind the schemas (never a 500)


def _nul_character(scope: Scope, body: bytes) -> str | None:
    """PostgreSQL text cannot hold U+0000; refuse it at the edge, naming where it was."""
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query or "\x00" in scope["path"]:
        return "query"
    if b"\\u0000" in body or b"\x00" in body:
        return "body"
    return None


def _sqlstate(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


def is_unavailable(exc: BaseException) -> bool:
    """The database went away (restart, network): 503, the client may retry."""
    if isinstance(exc, OSError | ConnectionError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or _sqlstate(exc).startswith(UNAVAILABLE_SQLSTATE_CLASSES)
    return isinstance(exc, sa_exc.InterfaceError)


AUTH_SQL = text(
    """
    SELECT u.id, u.username, u.role, u.site_id, s.code AS site_code, t.id AS token_id,
           t.last_used_at < now() - make_interval(secs => :res)
             OR t.last_used_at IS NULL AS stale,
           set_config('trial.request_id', :rid, true),
           set_config('trial.user_id', u.id::text, true),
           set_config('trial.role', u.role, true),
           set_config('trial.site', COALESCE(s.code, ''), true)
    FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN sites s ON s.id = u.site_id
    WHERE t.token_hash = :h AND t.revoked_at IS NULL AND t.expires_at > now() AND u.active
    """
)


REQUEST_ID_SQL = text("SELECT set_config('trial.request_id', :rid, true)")


@dataclass
class _Captured:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


class _BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise asyncio.CancelledError("client disconnected")
        chunks += message.get("body", b"")
        if len(chunks) > limit:
            raise _BodyTooLarge
        if not message.get("more_body", False):
            return bytes(chunks)


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, sessionmaker: Callable[[], AsyncSession], settings: Settings
    ) -> None:
        self.app = app
        self.sessionmaker = sessionmaker
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        response = await self._handle(scope, receive, request_id)
        await self._send(send, response, request_id)

    async def _handle(self, scope: Scope, receive: Receive, request_id: str) -> _Captured:
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.settings.max_body_bytes:
            return _problem(413, f"Request body exceeds {self.settings.max_body_bytes} bytes")
        try:
            async with asyncio.timeout(self.settings.request_timeout_seconds):
                body = await _read_body(receive, self.settings.max_body_bytes)
        except TimeoutError:
            return _problem(408, "The request body did not arrive in time")
        except _BodyTooLarge:
            return _problem(413, f"Request body exceeds {self.settings.max_body_bytes} bytes")
        nul = _nul_character(scope, body)
        if nul is not None:
            return _problem(422, "NUL characters are not allowed in text", field=nul)
        try:
            async with asyncio.timeout(self.settings.request_timeout_seconds):
                return await self._in_transaction(scope, body, request_id)
        except TimeoutError:
            log.warning("request %s timed out", request_id)
            return _problem(
                503,
                "The request timed out and was rolled back; retry (with the same Idempotency-Key)",
                retry=True,
            )
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("database unavailable for request %s: %s", request_id, exc)
                return _problem(
                    503,
                    "The database is unavailable; the request may not have been recorded:"
                    " retry with the same Idempotency-Key",
                    retry=True,
                )
            if _sqlstate(exc) in RETRYABLE_SQLSTATES:
                return _problem(409, "A concurrent change conflicted; retry", retry=True)
            if _sqlstate(exc).startswith(INTEGRITY_CLASS):
                log.info("constraint refused request %s: %s", request_id, exc)
                return _problem(409, "The change conflicts with an existing record")
            if _sqlstate(exc).startswith(DATA_EXCEPTION_CLASS):
                log.warning("data exception in request %s: %s", request_id, exc)
                return _problem(422, "A value is outside what the database can store")
            log.exception("unhandled error in request %s", request_id)
            return _problem(500, "An unexpected error occurred; it has been logged.")

    async def _in_transaction(self, scope: Scope, body: bytes, request_id: str) -> _Captured:
        async with self.sessionmaker() as session, session.begin():
            principal = await self._authenticate(session, scope, request_id)
            state = scope.setdefault("state", {})
            state["db"] = session
            state["principal"] = principal
            state["request_id"] = request_id
            idem = await self._idempotency_gate(session, scope, body, principal)
            if isinstance(idem, _Captured):
                await session.rollback()
                return idem
            captured = await self._run_app(scope, body)
            if captured.status >= 400:
                await session.rollback()
                return captured
            if idem is not None:
                await _store_idempotent(session, idem, captured, self.settings)
            try:
                await session.commit()
            except sa_exc.IntegrityError as exc:
                log.info("commit refused by a constraint: %s", exc.orig)
                return _problem(409, "The change conflicts with a concurrent change; retry")
            return captured

    async def _authenticate(
        self, session: AsyncSession, scope: Scope, request_id: str
    ) -> Principal | None:
        """One round trip: the token's user, and the audit actor set for this transaction."""
        authorization = _header(scope, b"authorization") or ""
        scheme, _, token = authorization.partition(" ")
        row = None
        if scheme.lower() == "bearer" and token.strip():
            params = {
                "h": token_digest(token.strip()),
                "res": TOKEN_LAST_USED_RESOLUTION_S,
                "rid": request_id,
            }
            row = (await session.execute(AUTH_SQL, params)).first()
        if row is None:
            await session.execute(REQUEST_ID_SQL, {"rid": request_id})
            return None
        if row.stale:
            await session.execute(
                text("UPDATE api_tokens SET last_used_at = now() WHERE id = :id"),
                {"id": row.token_id},
            )
        return Principal(row.id, row.username, row.role, row.site_id, row.site_code)

    async def _idempotency_gate(
        self, session: AsyncSession, scope: Scope, body: bytes, principal: Principal | None
    ) -> _Captured | _IdemKey | None:
        key = _header(scope, IDEMPOTENCY_HEADER.encode())
        if key is None or scope["method"] != "POST" or principal is None:
            return None
        if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
            return _problem(
                422,
                f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} printable characters",
                field="header.Idempotency-Key",
            )
        request_hash = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body
        ).digest()
        lock_key = f"{principal.user_id}:{key}"
        got = await session.scalar(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": lock_key}
        )
        if not got:
            return _problem(409, "A request with this Idempotency-Key is still in flight")
        row = (
            await session.execute(
                text(
                    "SELECT request_hash, response_status, response_body, response_headers,"
                    " expires_at > now() AS live FROM idempotency_keys"
                    " WHERE user_id = :u AND key = :k"
                ),
                {"u": principal.user_id, "k": key},
            )
        ).first()
        if row is not None and row.live:
            if bytes(row.request_hash) != request_hash:
                return _problem(
                    422,
                    "This Idempotency-Key was used with a different request body",
                    field="header.Idempotency-Key",
                )
            headers = [(k.encode(), v.encode()) for k, v in row.response_headers.items()]
            headers.append((b"idempotent-replayed", b"true"))
            return _Captured(row.response_status, headers, bytearray(row.response_body))
        if row is not None:  # expired: the key may be used afresh
            await session.execute(
                text("DELETE FROM idempotency_keys WHERE user_id = :u AND key = :k"),
                {"u": principal.user_id, "k": key},
            )
        return _IdemKey(principal.user_id, key, request_hash, scope["method"], scope["path"])

    async def _run_app(self, scope: Scope, body: bytes) -> _Captured:
        captured = _Captured()
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if delivered:
                await asyncio.Event().wait()  # a disconnect never arrives mid-handler
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured.body += message.get("body", b"")

        await self.app(scope, receive, send)
        return captured

    @staticmethod
    async def _send(send: Send, response: _Captured, request_id: str) -> None:
        headers = [(k, v) for k, v in response.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(response.body)).encode()))
        headers.append((b"x-request-id", request_id.encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": bytes(response.body)})


@dataclass(frozen=True)
class _IdemKey:
    user_id: uuid.UUID
    key: str
    request_hash: bytes
    method: str
    path: str


STORED_HEADERS = {"content-type", "location", "etag"}


async def _store_idempotent(
    session: AsyncSession, idem: _IdemKey, captured: _Captured, settings: Settings
) -> None:
    headers = {
        k.decode(): v.decode() for k, v in captured.headers if k.decode().lower() in STORED_HEADERS
    }
    await session.execute(
        text(
            "INSERT INTO idempotency_keys (user_id, key, request_hash, method, path,"
            " response_status, response_body, response_headers, created_at, expires_at)"
            " VALUES (:u, :k, :h, :m, :p, :s, :b, CAST(:hd AS jsonb), now(),"
            " now() + make_interval(hours => :ttl))"
        ),
        {
            "u": idem.user_id,
            "k": idem.key,
            "h": idem.request_hash,
            "m": idem.method,
            "p": idem.path,
            "s": captured.status,
            "b": bytes(captured.body),
            "hd": json.dumps(headers),
            "ttl": settings.idempotency_ttl_hours,
        },
    )


def _problem(
    status: int, detail: str, *, retry: bool = False, field: str | None = None
) -> _Captured:
    errors = [FieldError(field, detail)] if field else []
    response = problem_response(status, detail, errors=errors)
    headers = [(k.encode(), v.encode()) for k, v in response.headers.items()]
    if retry:
        headers.append((b"retry-after", b"1"))
    return _Captured(status, headers, bytearray(response.body))
