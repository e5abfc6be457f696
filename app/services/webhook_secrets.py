"""Subscription secrets: made once, shown once, stored sealed (SPEC §12).

The secret follows Standard Webhooks: `whsec_` + base64 of 24 random bytes. The service must
read it back to sign, so it is encrypted, not hashed: 0x01 | nonce | AES-256-GCM(
WEBHOOK_SECRET_KEY, secret) with the subscription id as associated data (a ciphertext moved
to another row does not decrypt). Without the key, subscriptions are refused (503).
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.problems import ProblemError
from app.settings import Settings, key_material

PREFIX = "whsec_"
SECRET_BYTES = 24
FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12
CONTEXT = b"webhook-secret/v1\x00"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def key(settings: Settings) -> bytes:
    """The sealing key, or 503 when the server has none."""
    if settings.webhook_secret_key is None:
        raise ProblemError(
            503, "Webhooks are not configured: set WEBHOOK_SECRET_KEY (docs/webhooks.md)"
        )
    return key_material(settings.webhook_secret_key.get_secret_value(), "WEBHOOK_SECRET_KEY")


def seal(sealing_key: bytes, subscription_id: uuid.UUID, secret: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(sealing_key).encrypt(nonce, secret.encode(), CONTEXT + subscription_id.bytes)
    return FORMAT_VERSION + nonce + sealed


def unseal(sealing_key: bytes, subscription_id: uuid.UUID, blob: bytes) -> str | None:
    """The secret, or None when the ciphertext does not belong here (or the key changed)."""
    if blob[:1] != FORMAT_VERSION:
        return None
    nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        plain = AESGCM(sealing_key).decrypt(nonce, sealed, CONTEXT + subscription_id.bytes)
    except InvalidTag:
        return None
    return plain.decode()
