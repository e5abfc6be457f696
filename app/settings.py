"""One settings class for the whole service, read from the environment (and `.env`)."""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 8
PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "placeholder", "example", "your-token")
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def weak_secret_reason(value: str) -> str | None:
    """Why `value` is not a real secret (None when it is): length, kinds, placeholders."""
    kinds = sum(
        any(test(c) for c in value)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    if len(value) < MIN_SECRET_LENGTH:
        return f"at least {MIN_SECRET_LENGTH} characters"
    if kinds < 2:
        return "more than one kind of character (lower case, upper case, digits, symbols)"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return f"at least {MIN_DISTINCT_CHARACTERS} different characters"
    if any(word in value.lower() for word in PLACEHOLDER_WORDS):
        return "a real secret, not a placeholder"
    return None


MRN_KEY_BYTES = 32  # HMAC-SHA256 key; AES-256-GCM key


def key_material(value: str, name: str) -> bytes:
    """A 32-byte key given as base64 (standard or URL-safe): refused when it is short, not
    base64, or a placeholder (the same words as the bootstrap token)."""
    text = value.strip()
    if any(word in text.lower() for word in PLACEHOLDER_WORDS):
        raise ValueError(f"{name} must be a real secret, not a placeholder")
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(f"{name} must be base64 (e.g. from secrets.token_urlsafe(32))") from None
    if len(raw) != MRN_KEY_BYTES:
        raise ValueError(f"{name} must encode exactly {MRN_KEY_BYTES} bytes, not {len(raw)}")
    if len(set(raw)) < MIN_DISTINCT_CHARACTERS * 2:
        raise ValueError(f"{name} must be random bytes (too few distinct values)")
    return raw


class Settings(BaseSettings):
    # a refused value may be a secret: never echo it in the error
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    database_url: str | None = Field(
        default=None, description="postgresql+asyncpg:// URL; unset = embedded PostgreSQL"
    )
    data_dir: Path = Field(default=Path(".data"), description="embedded PostgreSQL data")
    bootstrap_admin_token: str | None = Field(default=None, alias="TRIAL_BOOTSTRAP_ADMIN_TOKEN")
    token_ttl_days: int = Field(default=90, ge=1)
    login_token_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    login_max_failures_per_username: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    token_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="how long a worker may reuse a token check for the participant read and"
        " list (0: never); writes always check the database (README, Security)",
    )
    db_pool_size: int = Field(
        default=10, ge=1, description="connections per worker process, opened as needed, kept"
    )
    db_max_overflow: int = Field(
        default=0,
        ge=0,
        description="extra short-lived connections per worker beyond the pool (0: a busy pool "
        "makes requests wait rather than open and close backends under load)",
    )
    db_pool_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="how long a request waits for a pooled connection before answering 503",
    )
    db_pgbouncer: bool = Field(
        default=False, description="disable prepared-statement caching (PgBouncer transaction mode)"
    )
    db_app_role: str = Field(
        default="trial_app",
        description="the PostgreSQL role every request runs as (a connection startup"
        " parameter; SET LOCAL ROLE per transaction behind PgBouncer); owns nothing",
    )
    run_migrations_on_start: bool = True
    public_base_url: str | None = Field(
        default=None,
        description="the service's public origin, e.g. https://trial.example.org: the audience"
        " of SMART client assertions and the base of FHIR links (required for client tokens)",
    )
    mrn_hmac_key: SecretStr | None = Field(
        default=None, description="base64 of 32 random bytes: the MRN lookup hash (HMAC-SHA256)"
    )
    mrn_encryption_key: SecretStr | None = Field(
        default=None, description="base64 of 32 random bytes: MRN encryption (AES-256-GCM)"
    )
    fhir_max_bundle_entries: int = Field(
        default=200,
        ge=1,
        le=2000,
        description="entries per FHIR transaction; checking costs ~4 ms of CPU per entry",
    )
    client_token_ttl_seconds: int = Field(default=300, ge=30, le=300)
    # webhooks (SPEC §12; docs/webhooks.md)
    webhook_allow_http: bool = Field(
        default=False,
        description="development and tests only: http:// URLs and loopback/private addresses",
    )
    webhook_secret_key: SecretStr | None = Field(
        default=None,
        description="base64 of 32 random bytes: encrypts subscription secrets (AES-256-GCM);"
        " without it, subscriptions are refused (503)",
    )
    webhook_worker: bool = Field(
        default=True, description="run the delivery worker inside each service process"
    )
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_overdue_scan_seconds: float = Field(default=60.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_in_flight: int = Field(default=8, ge=1, le=100)
    webhook_lease_seconds: float = Field(
        default=60.0, gt=0, description="a claimed delivery is re-claimed after this (crash)"
    )
    webhook_first_retry_seconds: float = Field(default=4.0, gt=0, le=5)
    webhook_max_retry_seconds: float = Field(default=3600.0, gt=0, le=3600)
    webhook_retry_horizon_seconds: float = Field(default=86400.0, gt=0)

    @field_validator("bootstrap_admin_token")
    @classmethod
    def _refuse_weak_secret(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        reason = weak_secret_reason(value)
        if reason is not None:
            raise ValueError(f"TRIAL_BOOTSTRAP_ADMIN_TOKEN must be {reason}")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", value):
            raise ValueError("PUBLIC_BASE_URL must be an http(s) URL without query or fragment")
        return value.rstrip("/")

    @field_validator("mrn_hmac_key", "mrn_encryption_key", "webhook_secret_key")
    @classmethod
    def _mrn_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        key_material(value.get_secret_value(), str(info.field_name).upper())
        return value

    @model_validator(mode="after")
    def _distinct_mrn_keys(self) -> Settings:
        hmac_key, encryption_key = self.mrn_hmac_key, self.mrn_encryption_key
        if (hmac_key is None) != (encryption_key is None):
            raise ValueError("set both MRN_HMAC_KEY and MRN_ENCRYPTION_KEY, or neither")
        if (
            hmac_key
            and encryption_key
            and (hmac_key.get_secret_value() == encryption_key.get_secret_value())
        ):
            raise ValueError("MRN_HMAC_KEY and MRN_ENCRYPTION_KEY must differ")
        return self

    @model_validator(mode="after")
    def _lease_outlives_attempt(self) -> Settings:
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError("WEBHOOK_LEASE_SECONDS must exceed WEBHOOK_TIMEOUT_SECONDS")
        return self

    @field_validator("db_app_role")
    @classmethod
    def _plain_identifier(cls, value: str) -> str:
        if not ROLE_NAME.match(value):
            raise ValueError("DB_APP_ROLE must be a lower-case identifier ([a-z_][a-z0-9_]*)")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
