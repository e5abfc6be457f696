"""Electronic signatures of a casebook (SPEC §13, 21 CFR 11.50 / 11.200)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from app.schemas.common import InputModel, OutputModel

Meaning = Literal["approval"]


class SignatureIn(InputModel):
    meaning: Meaning = Field(description="approval: the investigator approves the casebook")
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="the signer's own password, entered again (21 CFR 11.200); a wrong one"
        " is 403 and counts toward the login lockout (429 while locked out)"
    )


class SignerOut(OutputModel):
    user_id: uuid.UUID
    username: str
    full_name: str
    role: str


class SignatureOut(OutputModel):
    """The manifest (21 CFR 11.50): who signed, when (UTC), what it means, and the SHA-256
    of the canonical casebook signed (docs/data-management.md defines it)."""

    id: uuid.UUID
    participant_id: uuid.UUID
    signer: SignerOut
    signed_at: datetime
    meaning: Meaning
    casebook_sha256: str = Field(description="hex SHA-256 of the canonical casebook content")
    canonical_version: str = Field(examples=["casebook-v1"])
    status: Literal["valid", "invalidated"]
    invalidated_at: datetime | None = Field(
        description="when a later change to the participant's data invalidated it"
    )
    invalidated_by_table: str | None = Field(description="the table of the change")
    invalidated_by_record: uuid.UUID | None = Field(description="the record changed")
    manifest: str = Field(
        description="the printed manifest",
        examples=["Signed by Li Wei (inv1) at 2026-12-03T01:00:00Z UTC, meaning: approval"],
    )


class SignaturesOut(OutputModel):
    items: list[SignatureOut]
    total: int
    limit: int
    offset: int
    current_casebook_sha256: str = Field(
        description="the SHA-256 of the casebook as it is now (equal to a valid signature's)"
    )
