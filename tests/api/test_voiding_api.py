"""Voiding records entered in error: nothing is deleted, the void is audited, and the record
stops counting (schedules, deviations, status)."""

from __future__ import annotations

from tests.api.treatment_helpers import dose_body, randomized, visit_body
from tests.helpers import make_actor, make_site


def url(pid: str, suffix: str) -> str:
    return f"/api/v1/participants/{pid}/{suffix}"


async def test_void_a_dose_then_enter_it_again(client, admin_headers, investigator, travel, db):
    pid, day1 = await randomized(client, admin_headers, investigator)
    h = investigator.headers
    travel(day1, 1, hour=18)
    short = dose_body(day1, 1, minutes=30, deviation_reason="pump alarm")
    dose = (await client.post(url(pid, "doses"), json=short, headers=h)).json()
    assert dose["deviation"]["kind"] == "short_infusion"
    void_url = url(pid, f"doses/{dose['id']}/void")
    body = {"reason": "entered for the wrong participant"}

    assert (await client.post(void_url, json=body, headers=h)).status_code == 428
    stale = await client.post(void_url, json=body, headers={**h, "If-Match": '"9"'})
    assert stale.status_code == 412
    r = await client.post(void_url, json=body, headers={**h, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["void_reason"] == body["reason"]
    again = await client.post(void_url, json=body, headers={**h, "If-Match": r.headers["etag"]})
    assert again.status_code == 409

    schedule = (await client.get(url(pid, "dosing-schedule"), headers=h)).json()
    assert schedule["next_dose"]["dose_number"] == 1
    deviations = await client.get(f"/api/v1/protocol-deviations?participant_id={pid}", headers=h)
    assert deviations.json()["total"] == 0
    redo = await client.post(url(pid, "doses"), json=dose_body(day1, 1), headers=h)
    assert redo.status_code == 201, redo.text

    assert await db.fetchval("SELECT count(*) FROM doses WHERE id = $1::uuid", dose["id"]) == 1
    trail = await client.get(
        f"/api/v1/audit?table=doses&record_id={dose['id']}", headers=admin_headers
    )
    last = trail.json()["items"][-1]
    assert last["action"] == "VOID"
    assert last["reason"] == body["reason"]


async def test_voiding_the_day_84_visit_undoes_completion(
    client, admin_headers, investigator, travel
):
    pid, day1 = await randomized(client, admin_headers, investigator, arm=None)
    h = investigator.headers
    travel(day1, 84)
    visit = await client.post(url(pid, "visits"), json=visit_body(day1, 84), headers=h)
    assert visit.status_code == 201, visit.text
    participant = (await client.get(f"/api/v1/participants/{pid}", headers=h)).json()
    assert participant["status"] == "completed"
    r = await client.post(
        url(pid, f"visits/{visit.json()['id']}/void"),
        json={"reason": "the visit was entered twice"},
        headers={**h, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    participant = (await client.get(f"/api/v1/participants/{pid}", headers=h)).json()
    assert participant["status"] == "randomized"


async def test_void_roles_and_site_isolation(client, admin_headers, investigator, travel):
    pid, day1 = await randomized(client, admin_headers, investigator)
    travel(day1, 1, hour=18)
    dose = (
        await client.post(url(pid, "doses"), json=dose_body(day1, 1), headers=investigator.headers)
    ).json()
    void_url = url(pid, f"doses/{dose['id']}/void")
    body = {"reason": "test of roles"}
    monitor = await make_actor(client, admin_headers, "monitor")
    r = await client.post(void_url, json=body, headers={**monitor.headers, "If-Match": '"1"'})
    assert r.status_code == 403
    other = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    r = await client.post(void_url, json=body, headers={**other.headers, "If-Match": '"1"'})
    assert r.status_code == 404
