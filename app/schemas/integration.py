"""SMART Backend Services: integration clients (admin) and the client-credentials token."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from app.schemas.common import InputModel, OutputModel, Reason

SmartScope = Literal["system/*.rs", "system/Observation.c"]
EXAMPLE_JWKS = {
    "keys": [
        {
            "kty": "EC",
            "crv": "P-384",
            "kid": "lab-feed-2026",
            "alg": "ES384",
            "use": "sig",
            "x": "jYMc1-OcX-Uw4guumBNUvyW74Y_pyhM6kvQ0-RXQTD7cZxcWasJ3RT_l6KYcpoNK",
            "y": "bQMNmcypi0oJqkIijGrvmbgP5HLPS7KbaK20oZBtEM2kGu7bWUX-eyKCOiD6puti",
        }
    ]
}


class IntegrationClientIn(InputModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        examples=["GZ3 laboratory feed"]
    )
    user_id: uuid.UUID = Field(
        description="the `integration` user (of one site) whose rights the client's tokens carry"
    )
    jwks: dict[str, Any] = Field(
        description="the client's public keys (JWK Set): RSA >= 2048 bits (RS384) or EC"
        " P-384 (ES384), each with a unique kid; never a private key",
        examples=[EXAMPLE_JWKS],
    )
    scopes: list[SmartScope] = Field(
        min_length=1,
        max_length=2,
        description="what its tokens may be granted: system/*.rs (read and search),"
        " system/Observation.c (lab ingest, POST /fhir)",
        examples=[["system/*.rs", "system/Observation.c"]],
    )


class IntegrationClientOut(OutputModel):
    id: uuid.UUID
    client_id: str = Field(description="the `iss` and `sub` of the client's assertions")
    name: str
    user_id: uuid.UUID
    username: str
    site_code: str | None
    scopes: list[str]
    jwks: dict[str, Any] = Field(description="the registered public keys")
    active: bool
    token_endpoint: str = Field(description="the `aud` of the client's assertions")
    created_at: datetime
    version: int
    deactivated_at: datetime | None = None
    deactivation_reason: str | None = None


class ClientDeactivateIn(InputModel):
    reason: Reason = Field(description="why (audited); the client's live tokens are revoked")


class ClientTokenOut(OutputModel):
    access_token: str = Field(description="shown once; only its hash is stored")
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds (at most 300)")
    scope: str = Field(description="the scopes granted, space-separated")
