"""Protocol deviations over HTTP: created from doses and visits, filtered, paged, isolated.

Time travel: the `travel` fixture (see `treatment_helpers.time_machine`) monkeypatches
`app.clock.utc_now` so that records on later study days are not "in the future".
"""

from __future__ import annotations

import pytest

from tests.api.treatment_helpers import dose_body, randomized, visit_body
from tests.helpers import make_actor, make_site

LIST = "/api/v1/protocol-deviations"
KEYS = {
    "id",
    "kind",
    "rule",
    "detail",
    "reason",
    "record_table",
    "record_id",
    "participant_id",
    "created_at",
}


@pytest.fixture
async def deviating(client, admin_headers, investigator, travel):
    """An exosome participant with a late, short dose 1 and a late Day 4 visit (3 deviations)."""
    pid, day1 = await randomized(client, admin_headers, investigator)
    travel(day1, 6)
    h = investigator.headers
    dose = dose_body(day1, 1, day=2, minutes=100, deviation_reason="infusion pump shortage")
    r = await client.post(f"/api/v1/participants/{pid}/doses", json=dose, headers=h)
    assert r.status_code == 201, r.text
    visit = visit_body(day1, 4, on_day=6, deviation_reason="patient transferred")
    r = await client.post(f"/api/v1/participants/{pid}/visits", json=visit, headers=h)
    assert r.status_code == 201, r.text
    return pid


async def test_list_filters_and_fields(client, investigator, deviating):
    h = investigator.headers
    r = await client.get(LIST, params={"participant_id": deviating}, headers=h)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 3
    assert {d["kind"] for d in page["items"]} == {
        "dose_out_of_window",
        "short_infusion",
        "visit_out_of_window",
    }
    for item in page["items"]:
        assert set(item) >= KEYS
        assert item["participant_id"] == deviating
    by_table = {d["record_table"] for d in page["items"]}
    assert by_table == {"doses", "visits"}

    r = await client.get(
        LIST, params={"participant_id": deviating, "kind": "short_infusion"}, headers=h
    )
    (only,) = r.json()["items"]
    assert only["reason"] == "infusion pump shortage"
    assert "100 minutes" in only["detail"]

    r = await client.get(LIST, params={"participant_id": deviating, "limit": 1}, headers=h)
    assert (r.json()["total"], len(r.json()["items"])) == (3, 1)
    r = await client.get(LIST, params={"limit": 10_000}, headers=h)
    assert r.status_code == 422


async def test_site_isolation(client, admin_headers, investigator, deviating):
    other = await make_actor(
        client, admin_headers, "coordinator", await make_site(client, admin_headers)
    )
    r = await client.get(LIST, params={"participant_id": deviating}, headers=other.headers)
    assert r.status_code == 200
    assert r.json()["total"] == 0
    everything = await client.get(LIST, params={"limit": 100}, headers=other.headers)
    assert all(d["participant_id"] != deviating for d in everything.json()["items"])


@pytest.mark.parametrize(
    ("role", "status"),
    [("monitor", 200), ("statistician", 200), ("admin", 200), ("dsmb", 403)],
)
async def test_readers(client, admin_headers, deviating, role, status):
    actor = await make_actor(client, admin_headers, role)
    r = await client.get(LIST, params={"participant_id": deviating}, headers=actor.headers)
    assert r.status_code == status
    if status == 200:
        assert r.json()["total"] == 3


async def test_requires_a_token(client):
    assert (await client.get(LIST)).status_code == 401
