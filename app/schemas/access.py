"""Sites, users, tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, StringConstraints, field_validator

from app.schemas.common import InputModel, OutputModel

Role = Literal[
    "admin", "investigator", "coordinator", "monitor", "statistician", "dsmb", "integration"
]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,15}$")]
Username = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_.@-]{3,64}$")]


class SiteIn(InputModel):
    code: Code = Field(examples=["GZ3"], description="short upper-case code, used in study ids")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    timezone: str = Field(
        default="Asia/Shanghai",
        max_length=64,
        description="IANA time zone; study days are local calendar dates at the site",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone '{value}'") from None
        return value


class SiteOut(OutputModel):
    id: uuid.UUID
    code: str
    name: str
    timezone: str


class UserIn(InputModel):
    username: Username
    role: Role
    site_code: Code | None = None
    password: Annotated[str, StringConstraints(min_length=12, max_length=256)] | None = None


class UserOut(OutputModel):
    id: uuid.UUID
    username: str
    role: str
    site_code: str | None
    active: bool


class TokenIn(InputModel):
    name: Annotated[str, StringConstraints(max_length=100)] | None = None
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(OutputModel):
    id: uuid.UUID
    token: str = Field(description="shown once; only its hash is stored")
    name: str | None
    expires_at: datetime


class AccessTokenOut(OutputModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
