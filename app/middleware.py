"""One owner of each API request's transaction.

For every `/api/` request this middleware opens one database transaction, authenticates the
bearer token (setting the audit actor and switching to the app role for the transaction:
app/request_auth.py), applies idempotency (app/idempotency.py), runs the route, and commits
only if the response is a success — *before* the client sees it, so an acknowledged write is
a committed write. A failed request is rolled back, except for writes marked to survive it
(a failed password check: app/db/durability.py). Single-statement operations skip the
transaction (app/single_statement.py), and the two single-statement reads may take the
caller from this worker's token cache (app/request_auth.py `TokenCache`), which every other
committed write empties.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable, Iterable

import asyncpg
from fastapi import APIRouter
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import conditional, idempotency
from app.auth import Principal
from app.db.audit_context import AuditContext
from app.db.durability import must_commit_on_error
from app.db.errors import (
    data_management_refusal,
    describe,
    frames_only,
    involves_the_database,
    is_unavailable,
    sqlstate,
)
from app.db.request_db import RequestDb
from app.domain.errors import FieldError
from app.idempotency import Captured, IdemKey, Refusal
from app.problems import problem_response
from app.request_auth import TokenCache, authenticate
from app.settings import Settings
from app.single_statement import SingleStatementRoutes

log = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock timeout
INTEGRITY_CLASS = "23"  # a constraint refused it (a race past the service's own checks)
DATA_EXCEPTION_CLASS = "22"  # the input was bad: a safety net behind the schemas (never a 500)
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRAPPED_PREFIXES = ("/api/", "/fhir")  # the REST API and the FHIR API (SPEC §10)

__all__ = ["RequestContextMiddleware", "is_unavailable"]


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID when it fits the SPEC pattern, else one of our own: it goes
    into the audit trail and the logs, so nothing longer or stranger is taken."""
    sent = _header(scope, b"x-request-id")
    if sent is not None and REQUEST_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def _nul_character(scope: Scope, body: bytes) -> str | None:
    """PostgreSQL text cannot hold U+0000; refuse it at the edge, naming where it was."""
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query or "\x00" in scope["path"]:
        return "query"
    if b"\\u0000" in body or b"\x00" in body:
        return "body"
    return None


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
        self,
        app: ASGIApp,
        engine: Callable[[], AsyncEngine],
        settings: Settings,
        routers: Iterable[APIRouter] = (),
    ) -> None:
        self.app = app
        self.engine = engine
        self.settings = settings
        # behind PgBouncer the connection is not in the app role between transactions
        self.single_statement = SingleStatementRoutes(() if settings.db_pgbouncer else routers)
        self.token_cache = TokenCache(settings.token_cache_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(WRAPPED_PREFIXES):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        response = await self._handle(scope, receive, request_id)
        await self._send(send, response, request_id)

    async def _handle(self, scope: Scope, receive: Receive, request_id: str) -> Captured:
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
            return _problem(503, self._timed_out(scope), retry=True)
        except Exception as exc:
            return _failure(exc, request_id)

    async def _in_transaction(self, scope: Scope, body: bytes, request_id: str) -> Captured:
        db = await RequestDb.checkout(self.engine())
        broken = False
        try:
            one_statement = self._runs_one_statement(scope)
            if not one_statement:
                await db.begin()
            return await self._serve(db, scope, body, request_id, one_statement)
        except BaseException as exc:
            broken = is_unavailable(exc)
            raise
        finally:
            await db.close(broken=broken)

    def _timed_out(self, scope: Scope) -> str:
        """What a timeout did: a transaction is rolled back; a lone write may have committed
        in the moment it was cancelled, so the caller must not take it as undone."""
        if scope["method"] not in SAFE_METHODS and self._runs_one_statement(scope):
            return (
                "The request timed out; it may have been recorded (it ran as a single statement):"
                " look it up before sending it again, and send an Idempotency-Key to make"
                " retries safe"
            )
        return "The request timed out and was rolled back; retry (with the same Idempotency-Key)"

    def _runs_one_statement(self, scope: Scope) -> bool:
        """No BEGIN/COMMIT for a single-statement operation (app/single_statement.py), unless
        an Idempotency-Key's row has to commit with it."""
        if _header(scope, idempotency.IDEMPOTENCY_HEADER) is not None:
            return False
        return self.single_statement.matches(scope)

    def _cache_for(self, scope: Scope, one_statement: bool) -> TokenCache | None:
        """The token cache serves single-statement reads only: every write checks the token in
        the database, in the transaction it authorizes."""
        if one_statement and scope["method"] in SAFE_METHODS and self.token_cache.enabled:
            return self.token_cache
        return None

    async def _commit(self, db: RequestDb, scope: Scope, one_statement: bool) -> None:
        """Commit; a write that may have revoked a token or changed an account (any write but
        an enrolment) also empties this worker's token cache, so it acts here at once."""
        await db.commit()
        if not one_statement and scope["method"] not in SAFE_METHODS:
            self.token_cache.clear()

    async def _serve(
        self, db: RequestDb, scope: Scope, body: bytes, request_id: str, one_statement: bool
    ) -> Captured:
        principal = await authenticate(
            db.conn,
            _header(scope, b"authorization") or "",
            request_id,
            self.settings.db_app_role,
            self._cache_for(scope, one_statement),
        )
        db.context = _audit_context(principal, request_id)
        state = scope.setdefault("state", {})
        state["db"] = db
        state["principal"] = principal
        state["request_id"] = request_id
        key = _header(scope, idempotency.IDEMPOTENCY_HEADER)
        idem = await idempotency.gate(db.conn, scope, key, body, principal)
        if isinstance(idem, Refusal):
            return _problem(idem.status, idem.detail, field=idem.field)
        if isinstance(idem, Captured):
            return idem
        captured = await self._run_app(scope, body)
        if_none_match = _header(scope, b"if-none-match")
        captured = conditional.not_modified(scope["method"], if_none_match, captured) or captured
        if captured.status >= 400:
            if must_commit_on_error(db):
                await self._commit(db, scope, one_statement)
            return captured
        if isinstance(idem, IdemKey):
            await idempotency.store(db.conn, idem, captured, self.settings)
        try:
            await self._commit(db, scope, one_statement)
        except (asyncpg.IntegrityConstraintViolationError, sa_exc.IntegrityError) as exc:
            log.info("commit refused by a constraint: %s", describe(exc))
            return _problem(409, "The change conflicts with a concurrent change; retry")
        return captured

    async def _run_app(self, scope: Scope, body: bytes) -> Captured:
        captured = Captured()
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
    async def _send(send: Send, response: Captured, request_id: str) -> None:
        headers = [(k, v) for k, v in response.headers if k.lower() != b"content-length"]
        if response.status != 304:  # a 304 has no body, and no length of its own to state
            headers.append((b"content-length", str(len(response.body)).encode()))
        headers.append((b"x-request-id", request_id.encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": bytes(response.body)})


def _audit_context(principal: Principal | None, request_id: str) -> AuditContext:
    if principal is None:
        return AuditContext(request_id)
    return AuditContext(
        request_id, str(principal.user_id), principal.role, principal.site_code or ""
    )


def _failure(exc: Exception, request_id: str) -> Captured:
    """Map an exception that escaped the route to a problem; log it without any data."""
    if is_unavailable(exc):
        log.warning("database unavailable for request %s: %s", request_id, describe(exc))
        return _problem(
            503,
            "The database is unavailable; the request may not have been recorded:"
            " retry with the same Idempotency-Key",
            retry=True,
        )
    locked = data_management_refusal(exc)
    if locked is not None:  # a lock trigger refused the write (migration 0013)
        return _problem(409, locked, slug="data-locked")
    state = sqlstate(exc)
    if state in RETRYABLE_SQLSTATES:
        return _problem(409, "A concurrent change conflicted; retry", retry=True)
    if state.startswith(INTEGRITY_CLASS):
        log.info("constraint refused request %s: %s", request_id, describe(exc))
        return _problem(409, "The change conflicts with an existing record")
    if state.startswith(DATA_EXCEPTION_CLASS):
        log.warning("data exception in request %s: %s", request_id, describe(exc))
        return _problem(422, "A value is outside what the database can store")
    if involves_the_database(exc):
        log.error(
            "unhandled database error in request %s: %s\n%s",
            request_id,
            describe(exc),
            frames_only(exc),
        )
    else:
        log.exception("unhandled error in request %s", request_id)
    return _problem(500, "An unexpected error occurred; it has been logged.")


def _problem(
    status: int,
    detail: str,
    *,
    retry: bool = False,
    field: str | None = None,
    slug: str | None = None,
) -> Captured:
    errors = [FieldError(field, detail)] if field else []
    response = problem_response(status, detail, slug=slug, errors=errors)
    headers = [(k.encode(), v.encode()) for k, v in response.headers.items()]
    if retry:
        headers.append((b"retry-after", b"1"))
    return Captured(status, headers, bytearray(response.body))
