"""Standard medical treatment over HTTP (SPEC §7): record, list, correct, void, refusals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.api.treatment_helpers import audit_of, randomized, record_death, time_machine
from tests.helpers import make_actor, make_participant, make_site


@pytest.fixture(scope="module")
async def site(client, admin_headers):
    return await make_site(client, admin_headers)


@pytest.fixture(scope="module")
async def inv(client, admin_headers, site):
    return await make_actor(client, admin_headers, "investigator", site)


@pytest.fixture
def travel(monkeypatch):
    return time_machine(monkeypatch)


def url(pid: str, suffix: str = "treatments") -> str:
    return f"/api/v1/participants/{pid}/{suffix}"


def fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


TODAY = date.today()


def entecavir(**overrides) -> dict:
    body = {
        "category": "antiviral",
        "name": "entecavir",
        "start_date": (TODAY - timedelta(days=30)).isoformat(),
        "dose": "0.5 mg once daily",
        "route": "oral",
        "atc_code": "J05AF10",
    }
    body.update(overrides)
    return body


async def test_record_correct_void_before_randomization(client, admin_headers, inv):
    pid = (await make_participant(client, inv))["id"]  # prior medication: not randomized yet
    h = inv.headers
    r = await client.post(url(pid), json=entecavir(), headers=h)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["category"], made["atc_code"], made["end_date"], made["version"]) == (
        "antiviral",
        "J05AF10",
        None,
        1,
    )
    assert r.headers["location"].endswith(made["id"])
    session = {
        "category": "artificial_liver_support",
        "name": "plasma exchange",
        "start_date": (TODAY - timedelta(days=2)).isoformat(),
        "end_date": (TODAY - timedelta(days=2)).isoformat(),
    }
    assert (await client.post(url(pid), json=session, headers=h)).status_code == 201

    one = url(pid, f"treatments/{made['id']}")
    got = await client.get(one, headers=h)
    assert (got.status_code, got.headers["etag"]) == (200, '"1"')
    stop = {"end_date": (TODAY - timedelta(days=1)).isoformat(), "reason": "stopped yesterday"}
    assert (await client.patch(one, json=stop, headers=h)).status_code == 428
    assert (await client.patch(one, json=stop, headers={**h, "If-Match": '"7"'})).status_code == 412
    r = await client.patch(one, json=stop, headers={**h, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert (r.json()["end_date"], r.json()["version"]) == (stop["end_date"], 2)
    bad = await client.patch(
        one,
        json={"start_date": TODAY.isoformat(), "reason": "moves start after end"},
        headers={**h, "If-Match": '"2"'},
    )
    assert (bad.status_code, fields(bad)) == (422, {"end_date"})

    listed = (await client.get(url(pid), headers=h)).json()
    assert [i["name"] for i in listed["items"]] == ["entecavir", "plasma exchange"]
    als = (await client.get(url(pid) + "?category=artificial_liver_support", headers=h)).json()
    assert als["total"] == 1
    r = await client.post(
        one + "/void",
        json={"reason": "belongs to another patient"},
        headers={**h, "If-Match": '"2"'},
    )
    assert r.status_code == 200, r.text
    assert (await client.get(url(pid), headers=h)).json()["total"] == 1
    assert (await client.get(url(pid) + "?include_voided=true", headers=h)).json()["total"] == 2
    actions = [a["action"] for a in await audit_of(client, admin_headers, "treatments", made["id"])]
    assert actions == ["INSERT", "UPDATE", "VOID"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"end_date": (TODAY - timedelta(days=40)).isoformat()}, "end_date"),
        ({"start_date": (TODAY + timedelta(days=3)).isoformat()}, "start_date"),
        ({"end_date": (TODAY + timedelta(days=3)).isoformat()}, "end_date"),
        ({"atc_code": "J5AF10"}, "atc_code"),
        ({"atc_code": "j05af10"}, "atc_code"),
        ({"atc_code": "X05AF10"}, "atc_code"),
        ({"category": "artificial_liver_support", "name": "DPMAS"}, "atc_code"),
        ({"category": "vitamins"}, "category"),
        ({"name": ""}, "name"),
    ],
)
async def test_refusals_name_the_field(client, inv, overrides, field):
    pid = (await make_participant(client, inv))["id"]
    r = await client.post(url(pid), json=entecavir(**overrides), headers=inv.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in fields(r)


@pytest.mark.parametrize("code", ["J", "J05", "J05A", "J05AF", "J05AF10", "A05BA"])
async def test_atc_levels_1_to_5(client, inv, code):
    pid = (await make_participant(client, inv))["id"]
    r = await client.post(url(pid), json=entecavir(atc_code=code), headers=inv.headers)
    assert r.status_code == 201, r.text


async def test_nothing_after_a_recorded_death(client, admin_headers, inv, travel, db):
    pid, day1 = await randomized(client, admin_headers, inv, arm=None)
    await record_death(db, pid, day1 + timedelta(days=1))
    travel(day1, 6)
    late = entecavir(start_date=(day1 + timedelta(days=2)).isoformat())
    r = await client.post(url(pid), json=late, headers=inv.headers)
    assert (r.status_code, fields(r)) == (422, {"start_date"})
    open_end = entecavir(
        start_date=day1.isoformat(), end_date=(day1 + timedelta(days=3)).isoformat()
    )
    r = await client.post(url(pid), json=open_end, headers=inv.headers)
    assert (r.status_code, fields(r)) == (422, {"end_date"})
    ok = entecavir(start_date=day1.isoformat(), end_date=(day1 + timedelta(days=1)).isoformat())
    assert (await client.post(url(pid), json=ok, headers=inv.headers)).status_code == 201


async def test_site_isolation_and_roles(client, admin_headers, inv):
    pid = (await make_participant(client, inv))["id"]
    made = (await client.post(url(pid), json=entecavir(), headers=inv.headers)).json()
    one = url(pid, f"treatments/{made['id']}")
    other = await make_actor(
        client, admin_headers, "coordinator", await make_site(client, admin_headers)
    )
    for method, path, body in [
        ("GET", url(pid), None),
        ("POST", url(pid), entecavir()),
        ("GET", one, None),
        ("PATCH", one, {"dose": "1 mg", "reason": "xyz"}),
        ("POST", one + "/void", {"reason": "xyz"}),
    ]:
        r = await client.request(
            method, path, json=body, headers={**other.headers, "If-Match": '"1"'}
        )
        assert r.status_code == 404, (method, path, r.text)
    statistician = await make_actor(client, admin_headers, "statistician")
    assert (await client.get(url(pid), headers=statistician.headers)).status_code == 200
    r = await client.post(url(pid), json=entecavir(), headers=statistician.headers)
    assert r.status_code == 403
