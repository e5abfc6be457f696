"""Password login and re-authentication, behind one lockout (SPEC §8).

Failed attempts are counted per username and per client address in PostgreSQL
(app/db/repositories/login_throttle.py), so the limits hold across workers and replicas.
While a key is locked every attempt answers 429 with Retry-After, right password or not, and
no password is checked. The lock is checked again after the (slow) password check, so a lock
set meanwhile by concurrent attempts hides this attempt's result too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.audit_context import set_actor, set_reason
from app.db.durability import commit_even_if_the_request_fails
from app.db.models import ApiToken, User
from app.db.repositories import access as repo
from app.db.repositories import login_throttle as throttle
from app.problems import ProblemError
from app.security import new_token, token_digest, verify_password
from app.settings import Settings

MAX_LIVE_LOGIN_TOKENS = 5
LOGIN_TOKEN_NAME = "password login"


def username_key(username: str) -> str:
    return f"user:{username}"


def _limits(username: str, client: str | None, settings: Settings) -> list[tuple[str, int]]:
    limits = [(username_key(username), settings.login_max_failures_per_username)]
    if client:
        limits.append((f"addr:{client}", settings.login_max_failures_per_address))
    return limits


async def _refuse_if_locked(session: AsyncSession, limits: list[tuple[str, int]]) -> None:
    seconds = await throttle.seconds_locked(session, [k for k, _ in limits])
    if seconds is not None:
        raise ProblemError(
            429,
            "Too many failed logins for this username or address; try again later",
            headers={"Retry-After": str(seconds)},
        )


async def _password_matches(
    session: AsyncSession,
    username: str,
    user: User | None,
    password: str,
    client: str | None,
    settings: Settings,
) -> bool:
    """The lockout around one password check; a failure is recorded durably (it must count
    even though the request fails, so nothing else may have been written before)."""
    limits = _limits(username, client, settings)
    await _refuse_if_locked(session, limits)
    matches = await verify_password(password, user.password_hash if user else None)
    await _refuse_if_locked(session, limits)
    if not (matches and user is not None and user.active):
        await throttle.record_failure(
            session,
            limits,
            window_seconds=settings.login_window_minutes * 60,
            lockout_seconds=settings.login_lockout_minutes * 60,
        )
        commit_even_if_the_request_fails(session)
        return False
    await throttle.clear(session, username_key(username))
    return True


async def password_login(
    session: AsyncSession, username: str, password: str, client: str | None, settings: Settings
) -> tuple[ApiToken, str]:
    """A short-lived login token; a user keeps at most MAX_LIVE_LOGIN_TOKENS of them."""
    user = await repo.user_by_username(session, username)
    if not await _password_matches(session, username, user, password, client, settings):
        raise ProblemError(
            401, "Unknown user or wrong password", headers={"WWW-Authenticate": "Bearer"}
        )
    assert user is not None
    user = await repo.user_for_update(session, user.id)  # logins of one user, one at a time
    if user is None or not user.active:
        raise ProblemError(401, "The user is deactivated", headers={"WWW-Authenticate": "Bearer"})
    site = await repo.site_by_id(session, user.site_id) if user.site_id else None
    await set_actor(session, user_id=str(user.id), role=user.role, site=site.code if site else None)
    await set_reason(session, "password login")
    plaintext = new_token()
    expires = datetime.now(UTC) + timedelta(hours=settings.login_token_ttl_hours)
    token = await repo.add_token(
        session, user.id, token_digest(plaintext), LOGIN_TOKEN_NAME, expires, kind="login"
    )
    await repo.keep_newest_login_tokens(session, user.id, MAX_LIVE_LOGIN_TOKENS)
    return token, plaintext


async def check_password_for_reauthentication(
    session: AsyncSession,
    principal: Principal,
    password: str,
    client: str | None,
    settings: Settings,
) -> None:
    """Re-authentication at a signature (21 CFR 11.200): the caller's own password again.

    A wrong password answers 403 and counts toward the same lockout as a failed login (and a
    locked username or address answers 429). Call it before the request writes anything: the
    failure is committed although the request fails.
    """
    user = await repo.user_by_id(session, principal.user_id)
    if not await _password_matches(session, principal.username, user, password, client, settings):
        raise ProblemError(403, "Wrong password: re-authentication failed")
