"""Settings that guard secrets: the bootstrap admin token must be a real secret."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from app.settings import Settings


@pytest.mark.parametrize(
    "token",
    [
        "aaaaaaaaaaaaaaaa",  # the review's probe
        "a" * 40,
        "1" * 40,
        "abcdefghijklmnopqrstuvwxyzabcdefgh",  # one kind of character
        "tour-admin-secret-0123456789",  # 28 characters
        "changeme-changeme-changeme-changeme",
        "CHANGEME_please_0123456789_0123456789",
        "your-token-here-0123456789-0123456789",
        "abab" * 10,
    ],
)
def test_weak_bootstrap_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="TRIAL_BOOTSTRAP_ADMIN_TOKEN"):
        Settings(TRIAL_BOOTSTRAP_ADMIN_TOKEN=token)


@pytest.mark.parametrize(
    "token",
    [secrets.token_urlsafe(32), secrets.token_hex(16), "Kx9-" + secrets.token_hex(16)],
    ids=["urlsafe", "hex", "prefixed-hex"],  # stable ids: pytest-xdist workers must agree
)
def test_strong_bootstrap_tokens_are_accepted(token: str) -> None:
    assert Settings(TRIAL_BOOTSTRAP_ADMIN_TOKEN=token).bootstrap_admin_token == token


def test_no_bootstrap_token_is_fine() -> None:
    assert Settings(TRIAL_BOOTSTRAP_ADMIN_TOKEN="").bootstrap_admin_token is None


@pytest.mark.parametrize("role", ["Trial_App", "trial app", "x;drop", "", "1abc"])
def test_the_app_role_name_must_be_a_plain_identifier(role: str) -> None:
    with pytest.raises(ValidationError):
        Settings(db_app_role=role)


@pytest.mark.parametrize("seconds", [-0.1, 1.01, 5])
def test_the_token_cache_cannot_outlast_a_second(seconds: float) -> None:
    """Issue 16 allows reads to reuse a token check for at most a second (README, Security)."""
    with pytest.raises(ValidationError, match="token_cache_seconds"):
        Settings(token_cache_seconds=seconds)


def test_the_token_cache_can_be_turned_off() -> None:
    assert Settings(token_cache_seconds=0).token_cache_seconds == 0
