"""Outcomes over HTTP: terminal statuses, allowed transitions and the date rules."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
import pytest

from tests.helpers import (
    insert_visit,
    make_actor,
    make_eligible,
    make_site,
    randomized_days_ago,
)


def url(pid: str) -> str:
    return f"/api/v1/participants/{pid}/outcomes"


def fields(r: httpx.Response) -> set[str]:
    return {e["field"] for e in r.json().get("errors", [])}


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("death", "died"),
        ("liver_transplant", "liver_transplant"),
        ("treatment_abandoned", "treatment_abandoned"),
        ("withdrawn", "withdrawn"),
        ("lost_to_follow_up", "lost_to_follow_up"),
    ],
)
async def test_outcome_moves_status(client, admin_headers, investigator, monkeypatch, kind, status):
    p, day1 = await randomized_days_ago(client, admin_headers, investigator, monkeypatch, 5)
    when = day1 + timedelta(days=2)
    r = await client.post(
        url(p["id"]), json={"type": kind, "date": when.isoformat()}, headers=investigator.headers
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert {k: body[k] for k in ("type", "date", "status")} == {
        "type": kind,
        "date": when.isoformat(),
        "status": status,
    }
    assert body["study_day"] == 3
    uuid.UUID(body["id"])
    listed = await client.get(url(p["id"]), headers=investigator.headers)
    assert [o["id"] for o in listed.json()["items"]] == [body["id"]]
    assert listed.json()["total"] == 1
    got = await client.get(f"/api/v1/participants/{p['id']}", headers=investigator.headers)
    assert got.json()["status"] == status


async def test_death_after_withdrawal_but_not_a_second_death(
    client, admin_headers, investigator, monkeypatch
):
    p, day1 = await randomized_days_ago(client, admin_headers, investigator, monkeypatch, 20)
    r = await client.post(
        url(p["id"]),
        json={"type": "withdrawn", "date": (day1 + timedelta(days=3)).isoformat()},
        headers=investigator.headers,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        url(p["id"]),
        json={"type": "lost_to_follow_up", "date": (day1 + timedelta(days=4)).isoformat()},
        headers=investigator.headers,
    )
    assert r.status_code == 409
    r = await client.post(  # died before the withdrawal date: the withdrawal shows them alive
        url(p["id"]),
        json={"type": "death", "date": (day1 + timedelta(days=2)).isoformat()},
        headers=investigator.headers,
    )
    assert r.status_code == 422
    assert fields(r) == {"date"}
    death = {"type": "death", "date": (day1 + timedelta(days=10)).isoformat()}
    r = await client.post(url(p["id"]), json=death, headers=investigator.headers)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "died"
    r = await client.post(url(p["id"]), json=death, headers=investigator.headers)
    assert r.status_code == 409


async def test_date_refusals(client, admin_headers, investigator, monkeypatch, db):
    p, day1 = await randomized_days_ago(client, admin_headers, investigator, monkeypatch, 10)
    for when in (day1 - timedelta(days=1), date.today() + timedelta(days=3)):
        r = await client.post(
            url(p["id"]),
            json={"type": "death", "date": when.isoformat()},
            headers=investigator.headers,
        )
        assert r.status_code == 422, when
        assert fields(r) == {"date"}
        assert r.headers["content-type"] == "application/problem+json"
    await insert_visit(db, p["id"], 4, day1 + timedelta(days=3))
    r = await client.post(
        url(p["id"]),
        json={"type": "death", "date": (day1 + timedelta(days=2)).isoformat()},
        headers=investigator.headers,
    )
    assert r.status_code == 422
    assert "alive" in r.json()["errors"][0]["message"]
    await insert_visit(db, p["id"], 7, day1 + timedelta(days=6), vital="dead")
    r = await client.post(  # after the visit that found the participant dead
        url(p["id"]),
        json={"type": "death", "date": (day1 + timedelta(days=7)).isoformat()},
        headers=investigator.headers,
    )
    assert r.status_code == 422
    assert "dead" in r.json()["errors"][0]["message"]
    r = await client.post(  # on the day of the visit: died later that day
        url(p["id"]),
        json={"type": "death", "date": (day1 + timedelta(days=3)).isoformat()},
        headers=investigator.headers,
    )
    assert r.status_code == 201, r.text


async def test_outcome_needs_randomization_and_role(client, admin_headers, investigator, site):
    p = await make_eligible(client, investigator)
    body = {"type": "withdrawn", "date": date.today().isoformat()}
    r = await client.post(url(p["id"]), json=body, headers=investigator.headers)
    assert r.status_code == 409
    for role in ("monitor", "statistician", "dsmb", "integration"):
        actor = await make_actor(
            client, admin_headers, role, site if role == "integration" else None
        )
        r = await client.post(url(p["id"]), json=body, headers=actor.headers)
        assert r.status_code == 403, role
    r = await client.post(url(p["id"]), json=body, headers=admin_headers)
    assert r.status_code == 403
    other = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    r = await client.post(url(p["id"]), json=body, headers=other.headers)
    assert r.status_code == 404
    r = await client.post(
        url(p["id"]), json={**body, "status": "died"}, headers=investigator.headers
    )
    assert r.status_code == 422
