"""One settings class for the whole service, read from the environment (and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changeme", "secret", "admin", "password", "token"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, description="postgresql+asyncpg:// URL; unset = embedded PostgreSQL"
    )
    data_dir: Path = Field(default=Path(".data"), description="embedded PostgreSQL data")
    bootstrap_admin_token: str | None = Field(default=None, alias="TRIAL_BOOTSTRAP_ADMIN_TOKEN")
    token_ttl_days: int = Field(default=90, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=5, ge=0)
    db_pgbouncer: bool = Field(
        default=False, description="disable prepared-statement caching (PgBouncer transaction mode)"
    )
    run_migrations_on_start: bool = True

    @field_validator("bootstrap_admin_token")
    @classmethod
    def _refuse_placeholder(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.lower() in PLACEHOLDER_SECRETS or len(value) < 16:
            raise ValueError("TRIAL_BOOTSTRAP_ADMIN_TOKEN must be a real secret of >= 16 chars")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
