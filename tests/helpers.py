"""Builders for the API tests: sites, users of each role, participants in each state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from tests.conftest import unique


@dataclass
class Actor:
    role: str
    token: str
    site_code: str | None
    user_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_site(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    code = unique("S")[:10]
    r = await client.post(
        "/api/v1/sites", json={"code": code, "name": f"Site {code}"}, headers=admin
    )
    assert r.status_code == 201, r.text
    return code


async def make_actor(
    client: httpx.AsyncClient, admin: dict[str, str], role: str, site_code: str | None = None
) -> Actor:
    body = {"username": f"{role}-{uuid.uuid4().hex[:10]}", "role": role, "site_code": site_code}
    r = await client.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    r = await client.post(f"/api/v1/users/{user_id}/tokens", json={}, headers=admin)
    assert r.status_code == 201, r.text
    return Actor(role, r.json()["token"], site_code, user_id)


def eligible_labs() -> dict[str, Any]:
    return {
        "inr": {"value": 1.8, "unit": "1"},
        "total_bilirubin": {"value": 250, "unit": "umol/L"},
        "neutrophils": {"value": 3.2, "unit": "10*9/L"},
        "urea": {"value": 5.1, "unit": "mmol/L"},
        "albumin": {"value": 30, "unit": "g/L"},
    }


def screening_body(assessment: date | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "assessment_date": (assessment or date.today() - timedelta(days=1)).isoformat(),
        "labs": eligible_labs(),
        "he_grade": 1,
        "ascites": "mild",
        "aclf_diagnosis_confirmed": True,
    }
    body.update(overrides)
    return body


async def make_participant(
    client: httpx.AsyncClient, actor: Actor, dob: str = "1970-05-01"
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/participants",
        json={"site_code": actor.site_code, "date_of_birth": dob, "sex": "female"},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def make_eligible(
    client: httpx.AsyncClient, actor: Actor, *, consent: bool = True
) -> dict[str, Any]:
    p = await make_participant(client, actor)
    r = await client.post(
        f"/api/v1/participants/{p['id']}/screening", json=screening_body(), headers=actor.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["eligible"], r.text
    if consent:
        r = await client.post(
            f"/api/v1/participants/{p['id']}/consent",
            json={
                "consent_date": (date.today() - timedelta(days=2)).isoformat(),
                "form_version": "v1.0",
            },
            headers=actor.headers,
        )
        assert r.status_code == 201, r.text
    return p
