"""Sites, users, tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, StringConstraints, field_validator

from app.schemas.common import InputModel, OutputModel, Reason

Role = Literal[
    "admin", "investigator", "coordinator", "monitor", "statistician", "dsmb", "integration"
]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,15}$")]
Username = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_.@-]{3,64}$")]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]
TokenKind = Literal["api", "login", "bootstrap", "client"]
MrnSystem = Annotated[
    str,
    StringConstraints(
        pattern=r"^(urn:oid:[0-2](\.(0|[1-9][0-9]*))+|urn:uuid:[0-9a-f-]{36}|https?://[^\s|]+)$",
        max_length=255,
    ),
]


class SiteIn(InputModel):
    code: Code = Field(examples=["GZ3"], description="short upper-case code, used in study ids")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    timezone: str = Field(
        default="Asia/Shanghai",
        max_length=64,
        description="IANA time zone; study days are local calendar dates at the site",
    )
    mrn_system: MrnSystem | None = Field(
        default=None,
        description="the identifier system of the site's medical record numbers (FHIR"
        " Identifier.system: an OID as urn:oid:..., or a URL); needed before MRNs are stored",
        examples=["urn:oid:1.2.156.112604.1.2.1"],
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
    mrn_system: str | None = Field(default=None, description="the site's MRN identifier system")
    version: int = Field(default=1, description="the ETag of GET/PATCH /sites/{code}")


class SitePatch(InputModel):
    """Set or change the site's MRN identifier system (If-Match with the site's ETag)."""

    mrn_system: MrnSystem | None = Field(description="the new system; null removes it")
    reason: Reason = Field(description="why (recorded in the audit trail)")


FullName = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
FULL_NAME = "the person's printed name, shown in the manifest of their electronic signatures"


class UserIn(InputModel):
    username: Username
    role: Role
    site_code: Code | None = None
    password: Password | None = None
    full_name: FullName | None = Field(default=None, description=FULL_NAME)


class UserOut(OutputModel):
    id: uuid.UUID
    username: str
    role: str
    site_code: str | None
    active: bool = Field(description="false: deactivated; its tokens are revoked, login fails")
    password_set: bool = Field(description="whether the user can log in with a password")
    full_name: str | None = Field(default=None, description=FULL_NAME)
    created_at: datetime
    updated_at: datetime | None = None


class UserPatch(InputModel):
    """An account change by an admin (If-Match with the user's ETag, and a reason)."""

    active: bool | None = Field(
        default=None,
        description="false deactivates the user: every token is revoked at once and login"
        " fails; true reactivates (the user then logs in again or gets new tokens)",
    )
    password: Password | None = Field(
        default=None, description="a new password; every token of the user is revoked"
    )
    full_name: FullName | None = Field(default=None, description=FULL_NAME)
    reason: Reason = Field(description="why (recorded in the audit trail)")


class TokenInfoOut(OutputModel):
    """A token's metadata: never the token itself, nor its hash."""

    id: uuid.UUID
    name: str | None
    kind: TokenKind = Field(
        description="api (issued by an admin), login (password login), bootstrap, client"
        " (SMART client credentials, 5 minutes)"
    )
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = Field(description="to the minute")
    revoked_at: datetime | None


class TokenIn(InputModel):
    name: Annotated[str, StringConstraints(max_length=100)] | None = None
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(OutputModel):
    id: uuid.UUID
    token: str = Field(description="shown once; only its hash is stored")
    name: str | None
    expires_at: datetime


class AccessTokenOut(OutputModel):
    access_token: str = Field(description="shown once; only its hash is stored")
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    expires_in: int = Field(description="seconds until it expires (OAuth2)")
    id: uuid.UUID = Field(description="the token's id (GET /users/{id}/tokens lists it)")
