"""Opaque bearer tokens (stored only as SHA-256) and password hashing (pwdlib/argon2).

Argon2 costs ~0.1 s of CPU and 64 MiB per call, by design. It runs in a small thread pool,
never on the event loop (argon2-cffi releases the GIL, so other requests go on meanwhile), and
the pool's size bounds how many hashes one worker computes at once. A login for a user who does
not exist, or has no password, verifies against a dummy hash: the same work as a wrong
password, so timing does not tell which usernames exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from pwdlib import PasswordHash

TOKEN_PREFIX = "trl_"
HASH_THREADS = 2  # per worker process
_pool = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="password-hash")


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(32))


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    """High-entropy tokens need no slow hash: SHA-256 makes the stored value useless."""
    return hashlib.sha256(token.encode()).digest()


def _verify(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher().verify(password, _dummy_hash())
        return False
    return bool(_hasher().verify(password, password_hash))


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher().hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """False for a wrong password and for a missing hash (after the same amount of work)."""
    return await asyncio.get_running_loop().run_in_executor(_pool, _verify, password, password_hash)


async def warm_up() -> None:
    """Compute the dummy hash at start, so the first unknown-user login costs no more."""
    await asyncio.get_running_loop().run_in_executor(_pool, _dummy_hash)
