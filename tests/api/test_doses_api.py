"""Doses over HTTP: every refusal code, deviations with reasons, the schedule, corrections.

Time travel: Day 1 is the real date of randomization at the site, so doses on Day 4, 7 or 10
are recorded after monkeypatching `app.clock.utc_now` (the `travel` fixture in
`treatment_helpers`; the services read the clock only through that module attribute).
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain import protocol
from tests.api.treatment_helpers import (
    audit_of,
    dose_body,
    local,
    randomized,
    record_death,
    visit_body,
)
from tests.conftest import unique
from tests.helpers import make_actor, make_eligible, make_site


@pytest.fixture
async def exosome(client, admin_headers, investigator):
    return await randomized(client, admin_headers, investigator)


def url(pid: str, suffix: str = "doses") -> str:
    return f"/api/v1/participants/{pid}/{suffix}"


def fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


async def test_dose_1_then_schedule_names_dose_2(client, investigator, exosome, travel):
    pid, day1 = exosome
    travel(day1, 1, hour=18)
    r = await client.post(url(pid), json=dose_body(day1, 1), headers=investigator.headers)
    assert r.status_code == 201, r.text
    dose = r.json()
    assert (dose["dose_number"], dose["status"], dose["deviation"]) == (1, "given", None)
    assert dose["study_day"] == 1
    assert dose["deviations"] == []
    assert r.headers["etag"] == f'"{dose["version"]}"'
    assert r.headers["location"].endswith(dose["id"])

    r = await client.get(url(pid, "dosing-schedule"), headers=investigator.headers)
    assert r.status_code == 200, r.text
    schedule = r.json()
    assert [d["status"] for d in schedule["doses"]] == ["given", "upcoming", "upcoming", "upcoming"]
    nxt = schedule["next_dose"]
    assert nxt["dose_number"] == 2
    assert nxt["target_day"] == 4
    assert (nxt["window_first_day"], nxt["window_last_day"]) == (3, 5)
    assert nxt["target_date"] == (day1 + timedelta(days=3)).isoformat()
    assert nxt["window_start"] == (day1 + timedelta(days=2)).isoformat()
    started = local(day1, 1, 9)
    assert nxt["not_before"].startswith(
        (started + protocol.MIN_INTERVAL_BETWEEN_DOSES).astimezone(ZoneInfo("UTC")).isoformat()[:19]
    )

    travel(day1, 4, hour=20)
    r = await client.get(url(pid, "dosing-schedule"), headers=investigator.headers)
    assert r.json()["next_dose"]["status"] == "due"
    listed = await client.get(url(pid), headers=investigator.headers)
    assert [d["id"] for d in listed.json()["items"]] == [dose["id"]]
    assert (
        listed.json()["items"][0]
        == (await client.get(url(pid) + f"/{dose['id']}", headers=investigator.headers)).json()
    )
    one = await client.get(url(pid) + f"/{dose['id']}", headers=investigator.headers)
    assert one.status_code == 200
    assert one.headers["etag"] == f'"{dose["version"]}"'


async def test_control_arm_is_409(client, admin_headers, investigator, travel):
    pid, day1 = await randomized(client, admin_headers, investigator, arm="control")
    travel(day1, 1)
    r = await client.post(url(pid), json=dose_body(day1, 1), headers=investigator.headers)
    assert r.status_code == 409
    assert "control" in r.json()["detail"]
    r = await client.get(url(pid, "dosing-schedule"), headers=investigator.headers)
    assert {d["status"] for d in r.json()["doses"]} == {"not_applicable"}
    assert r.json()["next_dose"] is None


async def test_not_randomized_is_409(client, investigator):
    p = await make_eligible(client, investigator)
    body = dose_body(date.today(), 1)
    r = await client.post(url(p["id"]), json=body, headers=investigator.headers)
    assert r.status_code == 409
    assert "not randomized" in r.json()["detail"]
    r = await client.get(url(p["id"], "dosing-schedule"), headers=investigator.headers)
    assert r.status_code == 200
    assert (r.json()["day1"], r.json()["doses"], r.json()["next_dose"]) == (None, [], None)


async def test_a_dose_starting_after_death_is_409(client, investigator, exosome, travel, db):
    pid, day1 = exosome
    travel(day1, 1)
    r = await client.post(url(pid), json=dose_body(day1, 1), headers=investigator.headers)
    assert r.status_code == 201
    await record_death(db, pid, day1 + timedelta(days=1))
    travel(day1, 4)
    r = await client.post(url(pid), json=dose_body(day1, 2), headers=investigator.headers)
    assert r.status_code == 409
    assert "death" in r.json()["detail"]
    r = await client.get(url(pid, "dosing-schedule"), headers=investigator.headers)
    assert [d["status"] for d in r.json()["doses"]][1:] == ["not_applicable"] * 3


async def test_duplicate_fifth_and_out_of_order_doses(client, investigator, exosome, travel):
    pid, day1 = exosome
    travel(day1, 1)
    h = investigator.headers
    assert (await client.post(url(pid), json=dose_body(day1, 1), headers=h)).status_code == 201
    again = await client.post(url(pid), json=dose_body(day1, 1), headers=h)
    assert again.status_code == 409
    assert "already recorded" in again.json()["detail"]
    travel(day1, 10)
    fifth = await client.post(url(pid), json=dose_body(day1, 5, day=10), headers=h)
    assert fifth.status_code == 409
    skipped = await client.post(url(pid), json=dose_body(day1, 3), headers=h)
    assert skipped.status_code == 409
    zero = await client.post(url(pid), json=dose_body(day1, 0, day=1), headers=h)
    assert zero.status_code == 422
    assert fields(zero) == {"dose_number"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"minutes": -10}, "ended_at"),
        ({"particles": 0}, "particles"),
        ({"volume_ml": -1}, "volume_ml"),
        ({"started_at": "2026-01-01T09:00:00"}, "started_at"),  # no time zone
        ({"lot_number": None}, "lot_number"),
        ({"reason": "not for a given dose"}, "reason"),
    ],
)
async def test_bad_data_is_422_naming_the_field(
    client, investigator, exosome, travel, overrides, field
):
    pid, day1 = exosome
    travel(day1, 1)
    r = await client.post(
        url(pid), json=dose_body(day1, 1, **overrides), headers=investigator.headers
    )
    assert r.status_code == 422, r.text
    assert field in fields(r)
    assert r.headers["content-type"] == "application/problem+json"


async def test_future_start_is_422(client, investigator, exosome, travel):
    pid, day1 = exosome
    travel(day1, 1, hour=8)
    r = await client.post(url(pid), json=dose_body(day1, 1), headers=investigator.headers)
    assert r.status_code == 422
    assert {"started_at", "ended_at"} <= fields(r)


@pytest.mark.parametrize(
    ("overrides", "kind"),
    [
        ({"day": 2}, "dose_out_of_window"),
        ({"minutes": 119}, "short_infusion"),
        ({"particles": protocol.DOSE_PARTICLES // 2}, "wrong_particle_count"),
        ({"volume_ml": 80}, "wrong_volume"),  # beyond the +/-10% tolerance
    ],
)
async def test_off_protocol_needs_a_deviation_reason(
    client, investigator, exosome, travel, overrides, kind
):
    pid, day1 = exosome
    travel(day1, 3)
    body = dose_body(day1, 1, **overrides)
    refused = await client.post(url(pid), json=body, headers=investigator.headers)
    assert refused.status_code == 422
    assert fields(refused) == {"deviation_reason"}
    body["deviation_reason"] = "pharmacy delay"
    r = await client.post(url(pid), json=body, headers=investigator.headers)
    assert r.status_code == 201, r.text
    dose = r.json()
    assert dose["deviation"]["kind"] == kind
    assert dose["deviation"]["reason"] == "pharmacy delay"
    assert (dose["deviation"]["record_table"], dose["deviation"]["record_id"]) == (
        "doses",
        dose["id"],
    )
    assert len(dose["deviations"]) == 1
    assert dose["deviation_reason"] == "pharmacy delay"


async def test_short_interval_and_several_findings(client, investigator, exosome, travel):
    pid, day1 = exosome
    h = investigator.headers
    travel(day1, 3, hour=20)
    first = dose_body(day1, 1, start=local(day1, 1, 20))
    assert (await client.post(url(pid), json=first, headers=h)).status_code == 201
    # Day 3 10:00 is inside dose 2's window (Days 3-5) but only 38 h after dose 1 started
    second = dose_body(day1, 2, start=local(day1, 3, 10), minutes=100)
    refused = await client.post(url(pid), json=second, headers=h)
    assert refused.status_code == 422
    assert "48" in refused.text
    second["deviation_reason"] = "clinical decision"
    r = await client.post(url(pid), json=second, headers=h)
    assert r.status_code == 201, r.text
    kinds = [d["kind"] for d in r.json()["deviations"]]
    assert sorted(kinds) == ["short_dose_interval", "short_infusion"]
    assert r.json()["deviation"] == r.json()["deviations"][0]


async def test_not_administered_then_later_dose_allowed(client, investigator, exosome, travel):
    pid, day1 = exosome
    h = investigator.headers
    travel(day1, 4)
    missing_reason = await client.post(
        url(pid), json={"dose_number": 1, "status": "not_administered"}, headers=h
    )
    assert missing_reason.status_code == 422
    assert fields(missing_reason) == {"reason"}
    with_times = await client.post(
        url(pid),
        json={"dose_number": 1, "status": "not_administered", "reason": "x", **_times(day1)},
        headers=h,
    )
    assert with_times.status_code == 422
    r = await client.post(
        url(pid),
        json={"dose_number": 1, "status": "not_administered", "reason": "hypotension"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["reason"], r.json()["deviation"]) == (
        "not_administered",
        "hypotension",
        None,
    )
    r = await client.post(url(pid), json=dose_body(day1, 2), headers=h)
    assert r.status_code == 201, r.text
    schedule = (await client.get(url(pid, "dosing-schedule"), headers=h)).json()
    assert [d["status"] for d in schedule["doses"]] == [
        "not_administered",
        "given",
        "upcoming",
        "upcoming",
    ]
    assert schedule["next_dose"]["dose_number"] == 3

    first = schedule["doses"][0]["dose_id"]
    given = {k: v for k, v in dose_body(day1, 1).items() if k != "dose_number"}
    r = await client.patch(
        url(pid) + f"/{first}",
        json={"status": "given", **given, "reason": "the infusion was given after all"},
        headers={**h, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reason"], r.json()["study_day"]) == ("given", None, 1)


def _times(day1):
    body = dose_body(day1, 1)
    return {"started_at": body["started_at"], "ended_at": body["ended_at"]}


async def test_study_day_uses_the_site_time_zone(client, admin_headers, travel):
    """22:00 in New York on Day 1 is already the next UTC date: still Day 1, no deviation."""
    r = await client.post(
        "/api/v1/sites",
        json={"code": unique("NY")[:10], "name": "New York", "timezone": "America/New_York"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    ny = ZoneInfo("America/New_York")
    actor = await make_actor(client, admin_headers, "coordinator", r.json()["code"])
    pid, day1 = await randomized(client, admin_headers, actor)
    travel(day1, 1, hour=23, minute=59, tz=ny)
    body = dose_body(day1, 1, start=local(day1, 1, 21, 30, tz=ny))
    r = await client.post(url(pid), json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    assert (r.json()["study_day"], r.json()["deviation"]) == (1, None)


async def test_another_sites_investigator_gets_404(client, admin_headers, exosome, travel):
    pid, day1 = exosome
    other = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    travel(day1, 1)
    for r in (
        await client.get(url(pid), headers=other.headers),
        await client.post(url(pid), json=dose_body(day1, 1), headers=other.headers),
        await client.get(url(pid, "dosing-schedule"), headers=other.headers),
    ):
        assert r.status_code == 404
        assert r.json()["detail"] == "No such participant"


@pytest.mark.parametrize(
    ("role", "write", "read"),
    [
        ("monitor", 403, 200),
        ("statistician", 403, 200),
        ("admin", 403, 200),
        ("dsmb", 403, 403),
        ("coordinator", 201, 200),
        ("integration", 201, 200),
    ],
)
async def test_role_matrix(client, admin_headers, site, exosome, travel, role, write, read):
    pid, day1 = exosome
    site_code = site if role in {"coordinator", "integration"} else None
    actor = await make_actor(client, admin_headers, role, site_code)
    travel(day1, 1)
    r = await client.post(url(pid), json=dose_body(day1, 1), headers=actor.headers)
    assert r.status_code == write, r.text
    assert (await client.get(url(pid), headers=actor.headers)).status_code == read
    assert (
        await client.get(url(pid, "dosing-schedule"), headers=actor.headers)
    ).status_code == read
    if write == 403:
        patch = await client.patch(
            url(pid) + f"/{pid}", json={"reason": "abc"}, headers=actor.headers
        )
        assert patch.status_code == 403  # the role is checked before If-Match


async def test_correction_needs_if_match_and_reason_and_is_audited(
    client, admin_headers, investigator, exosome, travel
):
    pid, day1 = exosome
    h = investigator.headers
    travel(day1, 1)
    dose = (await client.post(url(pid), json=dose_body(day1, 1), headers=h)).json()
    path = url(pid) + f"/{dose['id']}"
    change = {"lot_number": "EVS-LOT-2", "reason": "transcription error on the lot number"}

    assert (await client.patch(path, json=change, headers=h)).status_code == 428
    stale = {**h, "If-Match": '"99"'}
    assert (await client.patch(path, json=change, headers=stale)).status_code == 412
    current = {**h, "If-Match": f'"{dose["version"]}"'}
    no_reason = await client.patch(path, json={"lot_number": "X"}, headers=current)
    assert no_reason.status_code == 422
    assert fields(no_reason) == {"reason"}

    r = await client.patch(path, json=change, headers=current)
    assert r.status_code == 200, r.text
    assert r.json()["lot_number"] == "EVS-LOT-2"
    assert r.json()["version"] == dose["version"] + 1
    assert r.headers["etag"] == f'"{dose["version"] + 1}"'
    assert (await client.patch(path, json=change, headers=current)).status_code == 412

    entries = await audit_of(client, admin_headers, "doses", dose["id"])
    update = [e for e in entries if e["action"] == "UPDATE"][-1]
    assert update["old_values"]["lot_number"] == "EVS-LOT-1"
    assert update["new_values"]["lot_number"] == "EVS-LOT-2"
    assert update["reason"] == change["reason"]


async def test_correction_reruns_the_checks(client, investigator, exosome, travel):
    pid, day1 = exosome
    h = investigator.headers
    travel(day1, 1)
    dose = (await client.post(url(pid), json=dose_body(day1, 1), headers=h)).json()
    path = url(pid) + f"/{dose['id']}"
    start = local(day1, 1, 9)
    short = {"ended_at": (start + timedelta(minutes=90)).isoformat(), "reason": "pump log read"}

    r = await client.patch(path, json=short, headers={**h, "If-Match": '"1"'})
    assert r.status_code == 422
    assert fields(r) == {"deviation_reason"}
    r = await client.patch(
        path, json={**short, "deviation_reason": "pump alarm"}, headers={**h, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert r.json()["deviation"]["kind"] == "short_infusion"
    deviation_id = r.json()["deviation"]["id"]

    back = {"ended_at": (start + timedelta(minutes=121)).isoformat(), "reason": "second pump log"}
    r = await client.patch(path, json=back, headers={**h, "If-Match": '"2"'})
    assert r.status_code == 200, r.text
    assert (r.json()["deviation"], r.json()["deviation_reason"]) == (None, None)
    listed = await client.get(
        "/api/v1/protocol-deviations",
        params={"participant_id": pid, "include_voided": True},
        headers=h,
    )
    (voided,) = listed.json()["items"]
    assert voided["id"] == deviation_id
    assert voided["voided_at"] is not None
    assert "second pump log" in voided["void_reason"]

    null_status = {"status": None, "reason": "typo"}
    r = await client.patch(path, json=null_status, headers={**h, "If-Match": '"3"'})
    assert r.status_code == 422
    assert fields(r) == {"status"}

    future = {"started_at": local(day1, 2, 9).isoformat(), "reason": "typo"}
    r = await client.patch(path, json=future, headers={**h, "If-Match": '"3"'})
    assert r.status_code == 422  # ended_at would be before started_at


async def test_day84_completion_allows_late_entry_of_earlier_doses(
    client, investigator, exosome, travel
):
    pid, day1 = exosome
    h = investigator.headers
    travel(day1, 84, hour=20)
    r = await client.post(url(pid, "visits"), json=visit_body(day1, 84), headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["participant_status"] == "completed"
    r = await client.post(
        url(pid),
        json={"dose_number": 1, "status": "not_administered", "reason": "late entry"},
        headers=h,
    )
    assert r.status_code == 201, r.text  # dose 1 was due long before completion
    r = await client.get(url(pid, "dosing-schedule"), headers=h)
    assert r.json()["next_dose"] is None
