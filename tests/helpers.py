"""Builders for the API tests: sites, users of each role, participants in each state."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from app import clock
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


BASELINE_SYMPTOMS = {"fatigue": 2, "anorexia": 2, "nausea": 1, "jaundice": 3, "consciousness": 0}


def screening_body(assessment: date | None = None, **overrides: Any) -> dict[str, Any]:
    """An eligible screening with a complete baseline (every input of the three scores);
    `symptoms=None` leaves the symptoms out."""
    body: dict[str, Any] = {
        "assessment_date": (assessment or date.today() - timedelta(days=1)).isoformat(),
        "labs": eligible_labs(),
        "he_grade": 1,
        "ascites": "mild",
        "aclf_diagnosis_confirmed": True,
        "symptoms": BASELINE_SYMPTOMS,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


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


async def randomize(
    client: httpx.AsyncClient, admin: dict[str, str], actor: Actor, participant_id: str
) -> dict[str, Any]:
    """Randomize; when the active list is used up (or absent), retire it and start another.

    Tests share one database, so they rotate 20-slot lists; the service itself allows this
    only to statisticians/admins, with a reason, as a real trial would.
    """
    url = f"/api/v1/participants/{participant_id}/randomization"
    r = await client.post(url, headers=actor.headers)
    if r.status_code == 409 and ("exhausted" in r.text or "No active" in r.text):
        await new_allocation_list(client, admin)
        r = await client.post(url, headers=actor.headers)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def all_items(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """Every item of a list, page by page (each list answers {items, total, limit, offset})."""
    items: list[dict[str, Any]] = []
    while True:
        r = await client.get(url, params={"limit": 100, "offset": len(items)}, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        if len(items) >= page["total"] or not page["items"]:
            return items


async def new_allocation_list(
    client: httpx.AsyncClient, admin: dict[str, str], **body: Any
) -> dict[str, Any]:
    for lst in await all_items(client, "/api/v1/randomization/lists", admin):
        if lst["active"]:
            r = await client.post(
                f"/api/v1/randomization/lists/{lst['id']}/deactivate",
                json={"reason": "test rotation: list used up"},
                headers=admin,
            )
            assert r.status_code == 200, r.text
    r = await client.post("/api/v1/randomization/lists", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def make_randomized(
    client: httpx.AsyncClient, admin: dict[str, str], actor: Actor, arm: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A randomized participant; with `arm`, keep enrolling until one lands in that arm."""
    for _ in range(50):
        p = await make_eligible(client, actor)
        allocation = await randomize(client, admin, actor, p["id"])
        if arm is None or allocation["arm"] == arm:
            return p, allocation
    raise AssertionError(f"no participant landed in arm {arm}")


async def randomized_days_ago(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    actor: Actor,
    monkeypatch: pytest.MonkeyPatch,
    days_ago: int,
    arm: str | None = None,
) -> tuple[dict[str, Any], date]:
    """A participant randomized `days_ago` days back (the clock of randomization moved)."""
    then = datetime.now(UTC) - timedelta(days=days_ago)
    for _ in range(50):
        r = await client.post(
            "/api/v1/participants",
            json={"site_code": actor.site_code, "date_of_birth": "1970-05-01", "sex": "male"},
            headers=actor.headers,
        )
        assert r.status_code == 201, r.text
        p = r.json()
        assessment = then.date() - timedelta(days=1)
        r = await client.post(
            f"/api/v1/participants/{p['id']}/screening",
            json=screening_body(assessment),
            headers=actor.headers,
        )
        assert r.status_code == 201, r.text
        r = await client.post(
            f"/api/v1/participants/{p['id']}/consent",
            json={"consent_date": assessment.isoformat(), "form_version": "v1.0"},
            headers=actor.headers,
        )
        assert r.status_code == 201, r.text
        with monkeypatch.context() as m:
            m.setattr(clock, "utc_now", lambda: then)
            allocation = await randomize(client, admin, actor, p["id"])
        if arm is None or allocation["arm"] == arm:
            return p, date.fromisoformat(allocation["day1"])
    raise AssertionError(f"nobody landed in {arm}")


async def insert_visit(
    db: Any, participant_id: str, day: int, when: date, vital: str = "alive", scores: Any = None
) -> None:
    """A visit row written behind the service's back (the visits API is another's work)."""
    await db.execute(
        "INSERT INTO visits (participant_id, visit_day, visit_date, vital_status, labs,"
        " age_years, scores) VALUES ($1, $2, $3, $4, '{}'::jsonb, 50, $5::jsonb)",
        uuid.UUID(participant_id),
        day,
        when,
        vital,
        json.dumps(scores or {}),
    )


async def insert_given_dose(db: Any, participant_id: str, started: datetime) -> uuid.UUID:
    """Dose 1, given for two hours from `started`, written behind the service's back."""
    dose_id: uuid.UUID = await db.fetchval(
        "INSERT INTO doses (participant_id, dose_number, status, started_at, ended_at,"
        " particles, volume_ml) VALUES ($1, 1, 'given', $2, $3, 200000000000, 100)"
        " RETURNING id",
        uuid.UUID(participant_id),
        started,
        started + timedelta(hours=2),
    )
    return dose_id


_addresses = iter(range(1, 1 << 24))


def unique_address() -> str:
    """A client address of its own, so one test's failed logins never lock another's."""
    n = next(_addresses)
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def client_from(app: Any, host: str | None = None) -> httpx.AsyncClient:
    """A client whose requests come from `host` (the login throttle keys on the address)."""
    transport = httpx.ASGITransport(app=app, client=(host or unique_address(), 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def make_password_user(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    role: str = "monitor",
    site_code: str | None = None,
    password: str = "a long passphrase 1",
) -> dict[str, Any]:
    username = f"{role}-pw-{uuid.uuid4().hex[:10]}"
    body = {"username": username, "role": role, "site_code": site_code, "password": password}
    r = await client.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return {"id": r.json()["id"], "username": username, "password": password}


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )


async def migrate(url: str, action: str, target: str) -> None:
    """Run `alembic upgrade|downgrade <target>` on the database at `url`, as the owner."""
    from alembic import command
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db.migrate import alembic_config

    cfg = alembic_config()
    engine = create_async_engine(url)

    def go(connection: Any) -> None:
        cfg.attributes["connection"] = connection
        getattr(command, action)(cfg, target)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(go)
    finally:
        await engine.dispose()
