"""The read-only token cache (app/request_auth.py): how long a check may be reused, and when not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from app.auth import Principal
from app.request_auth import TokenCache

DIGEST = b"d" * 32
LATER = datetime.now(UTC) + timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def principal() -> Principal:
    return Principal(uuid.uuid4(), "inv1", "investigator", uuid.uuid4(), "GZ3", uuid.uuid4())


def test_a_check_is_reused_until_its_seconds_have_passed() -> None:
    clock = Clock()
    cache = TokenCache(1.0, clock=clock)
    who = principal()
    cache.put(DIGEST, who, LATER)
    clock.now += 0.99
    assert cache.get(DIGEST) is who
    clock.now += 0.01
    assert cache.get(DIGEST) is None
    assert cache.get(DIGEST) is None  # and it is gone


def test_a_token_past_its_own_expiry_is_never_answered_from_the_cache() -> None:
    cache = TokenCache(1.0, clock=Clock())
    cache.put(DIGEST, principal(), datetime.now(UTC) - timedelta(microseconds=1))
    assert cache.get(DIGEST) is None


def test_zero_seconds_turns_the_cache_off() -> None:
    cache = TokenCache(0.0, clock=Clock())
    cache.put(DIGEST, principal(), LATER)
    assert not cache.enabled
    assert cache.get(DIGEST) is None


def test_clear_forgets_every_check() -> None:
    cache = TokenCache(1.0, clock=Clock())
    cache.put(DIGEST, principal(), LATER)
    cache.put(b"e" * 32, principal(), LATER)
    cache.clear()
    assert cache.get(DIGEST) is None
    assert cache.get(b"e" * 32) is None


def test_a_full_cache_makes_room_only_from_stale_entries() -> None:
    clock = Clock()
    cache = TokenCache(1.0, clock=clock, max_entries=2)
    cache.put(b"a" * 32, principal(), LATER)
    clock.now += 0.5
    cache.put(b"b" * 32, principal(), LATER)
    cache.put(b"c" * 32, principal(), LATER)  # full, nothing stale: not cached
    assert cache.get(b"c" * 32) is None
    clock.now += 0.6  # "a" is stale now, "b" is not
    cache.put(b"c" * 32, principal(), LATER)
    assert cache.get(b"c" * 32) is not None
    assert cache.get(b"b" * 32) is not None
    assert cache.get(b"a" * 32) is None
