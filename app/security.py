"""Opaque bearer tokens (stored only as SHA-256) and password hashing (pwdlib/argon2)."""

from __future__ import annotations

import hashlib
import secrets

from pwdlib import PasswordHash

TOKEN_PREFIX = "trl_"
_password_hash = PasswordHash.recommended()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    """High-entropy tokens need no slow hash: SHA-256 makes the stored value useless."""
    return hashlib.sha256(token.encode()).digest()


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _password_hash.hash(password)  # same cost whether or not the user exists
        return False
    return _password_hash.verify(password, password_hash)
