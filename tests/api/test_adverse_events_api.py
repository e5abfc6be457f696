"""Adverse events over HTTP: consistency refusals by field, clocks, follow-up, sponsor report,
the overdue list, and nothing after a death."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

import app.clock
from tests.helpers import (
    insert_given_dose,
    make_actor,
    make_randomized,
    make_site,
    randomized_days_ago,
)


@pytest.fixture(scope="module")
async def control(client, admin_headers, investigator):
    p, allocation = await make_randomized(client, admin_headers, investigator, arm="control")
    return p


def url(pid: str, *rest: str) -> str:
    return "/".join([f"/api/v1/participants/{pid}/adverse-events", *rest])


def ae(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "term": "Fever",
        "onset_date": date.today().isoformat(),
        "ctcae_grade": 2,
        "serious": False,
        "seriousness_criteria": [],
        "relatedness": "not_related",
        "expectedness": "expected",
        "outcome": "recovering",
        "aware_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    body.update(overrides)
    return body


def fields(r: httpx.Response) -> set[str]:
    return {e["field"] for e in r.json().get("errors", [])}


async def test_non_serious_event_has_no_clocks(client, investigator, control):
    r = await client.post(url(control["id"]), json=ae(), headers=investigator.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["serious"] is False
    assert body["susar"] is False
    assert body["report_due_at"] is None
    assert body["expedited_due_at"] is None
    assert body["report_status"] == "not_required"
    got = await client.get(url(control["id"], body["id"]), headers=investigator.headers)
    assert got.status_code == 200
    assert got.headers["etag"] == '"1"'
    listed = await client.get(url(control["id"]), headers=investigator.headers)
    assert body["id"] in [i["id"] for i in listed.json()["items"]]


async def test_sae_clock_is_24_hours(client, investigator, control):
    aware = datetime(2020, 1, 1, tzinfo=UTC) + (
        datetime.now(UTC) - datetime(2020, 1, 1, tzinfo=UTC)
    )
    aware = aware.replace(microsecond=0) - timedelta(hours=1)
    body = ae(
        serious=True,
        seriousness_criteria=["hospitalization"],
        ctcae_grade=3,
        aware_at=aware.isoformat(),
        onset_date=(aware.date() - timedelta(days=0)).isoformat(),
    )
    r = await client.post(url(control["id"]), json=body, headers=investigator.headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["serious"] is True
    assert out["susar"] is False
    assert datetime.fromisoformat(out["report_due_at"]) == aware + timedelta(hours=24)
    assert out["expedited_due_at"] is None
    assert out["report_status"] == "pending"
    assert out["overdue"] is False


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"serious": True}, {"seriousness_criteria"}),
        ({"seriousness_criteria": ["hospitalization"]}, {"serious"}),
        ({"ctcae_grade": 6}, {"ctcae_grade"}),
        ({"ctcae_grade": 5}, {"outcome", "seriousness_criteria", "serious"}),
        ({"relatedness": "possible"}, {"relatedness"}),  # control arm: no study drug
        ({"relatedness": "sometimes", "outcome": "gone"}, {"relatedness", "outcome"}),
        ({"end_date": "2000-01-01"}, {"end_date"}),
        (
            {"onset_date": (date.today() + timedelta(days=5)).isoformat()},
            {"onset_date", "aware_at"},
        ),
        ({"aware_at": "2024-01-01T10:00:00"}, {"aware_at"}),
        ({"meddra_pt_code": "12ab"}, {"meddra_pt_code"}),
        ({"action_taken": "withdrawn"}, {"action_taken"}),
        ({"dose_id": str(uuid.uuid4())}, {"dose_id"}),
        ({"seriousness_criteria": ["bad_luck"], "serious": True}, {"seriousness_criteria"}),
    ],
)
async def test_consistency_refusals_name_the_fields(
    client, investigator, control, overrides, expected
):
    r = await client.post(url(control["id"]), json=ae(**overrides), headers=investigator.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert fields(r) == expected, r.json()


async def test_fatal_event_needs_the_death_outcome(client, investigator, control):
    fatal = ae(ctcae_grade=5, outcome="fatal", serious=True, seriousness_criteria=["death"])
    r = await client.post(url(control["id"]), json=fatal, headers=investigator.headers)
    assert r.status_code == 409
    assert "death" in r.json()["detail"]


async def test_dose_link_must_be_this_participants_given_dose(
    client, admin_headers, investigator, db
):
    p, _ = await make_randomized(client, admin_headers, investigator, arm="exosome")
    other, _ = await make_randomized(client, admin_headers, investigator, arm="exosome")
    started = datetime.now(UTC) - timedelta(hours=4)
    dose_id = await insert_given_dose(db, other["id"], started)
    # the first dose's date is its date at the site (Asia/Shanghai), whatever the hour in UTC
    onset = started.astimezone(ZoneInfo("Asia/Shanghai")).date()
    body = ae(dose_id=str(dose_id), relatedness="probable", onset_date=onset.isoformat())
    r = await client.post(url(p["id"]), json=body, headers=investigator.headers)
    assert r.status_code == 422
    assert fields(r) == {"relatedness"}  # p has had no dose: relatedness refused first
    r = await client.post(
        url(p["id"]), json={**body, "relatedness": "not_related"}, headers=investigator.headers
    )
    assert r.status_code == 422
    assert fields(r) == {"dose_id"}
    r = await client.post(url(other["id"]), json=body, headers=investigator.headers)
    assert r.status_code == 201, r.text
    assert r.json()["dose_id"] == str(dose_id)


async def test_susar_clocks_follow_up_and_sponsor_report(
    client, admin_headers, investigator, monkeypatch, db
):
    p, day1 = await randomized_days_ago(
        client, admin_headers, investigator, monkeypatch, 6, arm="exosome"
    )
    started = datetime.combine(day1, datetime.min.time(), UTC) + timedelta(hours=4)
    await insert_given_dose(db, p["id"], started)
    aware = datetime.combine(day1 + timedelta(days=2), datetime.min.time(), UTC) + timedelta(
        hours=9
    )
    body = ae(
        term="Anaphylaxis",
        onset_date=(day1 + timedelta(days=2)).isoformat(),
        ctcae_grade=3,
        serious=True,
        seriousness_criteria=["hospitalization"],
        relatedness="probable",
        expectedness="unexpected",
        aware_at=aware.isoformat(),
    )
    r = await client.post(url(p["id"]), json=body, headers=investigator.headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["susar"] is True
    assert datetime.fromisoformat(out["report_due_at"]) == aware + timedelta(hours=24)
    assert datetime.fromisoformat(out["expedited_due_at"]) == aware + timedelta(days=15)
    assert out["report_status"] == "overdue"
    assert out["overdue"] is True
    ae_url = url(p["id"], out["id"])

    # follow-up: becomes life-threatening -> the 7-day clock; needs If-Match and a reason
    change = {"seriousness_criteria": ["hospitalization", "life_threatening"], "ctcae_grade": 4}
    r = await client.patch(
        ae_url, json={**change, "reason": "follow-up"}, headers=investigator.headers
    )
    assert r.status_code == 428
    r = await client.patch(ae_url, json=change, headers={**investigator.headers, "If-Match": '"1"'})
    assert r.status_code == 422
    assert fields(r) == {"reason"}
    r = await client.patch(
        ae_url,
        json={**change, "reason": "follow-up report"},
        headers={**investigator.headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'
    assert datetime.fromisoformat(r.json()["expedited_due_at"]) == aware + timedelta(days=7)
    r = await client.patch(  # stale ETag
        ae_url,
        json={"end_date": body["onset_date"], "reason": "resolved"},
        headers={**investigator.headers, "If-Match": '"1"'},
    )
    assert r.status_code == 412
    r = await client.patch(  # re-validated as a whole
        ae_url,
        json={"serious": False, "reason": "downgrade"},
        headers={**investigator.headers, "If-Match": '"2"'},
    )
    assert r.status_code == 422
    assert fields(r) == {"serious"}
    reasons = await db.fetch(
        "SELECT reason FROM audit_log WHERE table_name = 'adverse_events' AND record_id = $1",
        out["id"],
    )
    assert "follow-up report" in [row["reason"] for row in reasons]

    # sponsor reports
    report = url(p["id"], out["id"], "sponsor-report")
    r = await client.post(
        report,
        json={"reported_at": (aware - timedelta(hours=1)).isoformat()},
        headers=investigator.headers,
    )
    assert r.status_code == 422
    assert fields(r) == {"reported_at"}
    late = aware + timedelta(hours=30)
    r = await client.post(
        report, json={"reported_at": late.isoformat()}, headers=investigator.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["report_status"] == "reported_late"
    assert r.json()["expedited_report_status"] in ("pending", "overdue")
    r = await client.post(
        report, json={"reported_at": late.isoformat()}, headers=investigator.headers
    )
    assert r.status_code == 409
    r = await client.post(
        report,
        json={"reported_at": late.isoformat(), "expedited": True},
        headers=investigator.headers,
    )
    assert r.status_code == 200
    assert r.json()["expedited_report_status"] == "reported_on_time"
    assert r.json()["overdue"] is False


async def test_sponsor_report_refused_for_non_serious(client, investigator, control):
    r = await client.post(url(control["id"]), json=ae(), headers=investigator.headers)
    report = url(control["id"], r.json()["id"], "sponsor-report")
    r = await client.post(
        report, json={"reported_at": datetime.now(UTC).isoformat()}, headers=investigator.headers
    )
    assert r.status_code == 409


async def test_overdue_listing_moves_with_the_clock(client, admin_headers, monkeypatch):
    site = await make_site(client, admin_headers)
    coordinator = await make_actor(client, admin_headers, "coordinator", site)
    p, _ = await make_randomized(client, admin_headers, coordinator)
    aware = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    sae = ae(
        serious=True,
        seriousness_criteria=["hospitalization"],
        ctcae_grade=3,
        aware_at=aware.isoformat(),
    )
    r = await client.post(url(p["id"]), json=sae, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    sae_id = r.json()["id"]
    r = await client.post(url(p["id"]), json=ae(), headers=coordinator.headers)
    mild_id = r.json()["id"]

    async def ids(**params: Any) -> list[str]:
        r = await client.get("/api/v1/adverse-events", params=params, headers=coordinator.headers)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert set(await ids()) == {sae_id, mild_id}  # own site only
    assert await ids(serious="true") == [sae_id]
    assert await ids(due="true") == [sae_id]
    assert await ids(overdue="true") == []
    later = datetime.now(UTC) + timedelta(hours=25)
    monkeypatch.setattr(app.clock, "utc_now", lambda: later)
    assert await ids(overdue="true") == [sae_id]
    r = await client.get(url(p["id"], sae_id), headers=coordinator.headers)
    assert r.json()["report_status"] == "overdue"
    assert await ids(overdue="false", serious="false") == [mild_id]
    everyone = await client.get(
        "/api/v1/adverse-events?overdue=true&limit=100", headers=admin_headers
    )
    assert sae_id in [i["id"] for i in everyone.json()["items"]]
    other = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    r = await client.get("/api/v1/adverse-events", headers=other.headers)
    assert r.json()["total"] == 0
    r = await client.get(url(p["id"], sae_id), headers=other.headers)
    assert r.status_code == 404
    dsmb = await make_actor(client, admin_headers, "dsmb")
    r = await client.get("/api/v1/adverse-events", headers=dsmb.headers)
    assert r.status_code == 403


async def test_nothing_after_death(client, admin_headers, investigator, monkeypatch):
    p, day1 = await randomized_days_ago(client, admin_headers, investigator, monkeypatch, 10)
    death = day1 + timedelta(days=5)
    r = await client.post(
        f"/api/v1/participants/{p['id']}/outcomes",
        json={"type": "death", "date": death.isoformat()},
        headers=investigator.headers,
    )
    assert r.status_code == 201, r.text
    aware = datetime.combine(death + timedelta(days=1), datetime.min.time(), UTC)
    after = ae(onset_date=(death + timedelta(days=1)).isoformat(), aware_at=aware.isoformat())
    r = await client.post(url(p["id"]), json=after, headers=investigator.headers)
    assert r.status_code == 422
    assert fields(r) == {"onset_date"}
    fatal = ae(
        onset_date=death.isoformat(),
        end_date=death.isoformat(),
        aware_at=aware.isoformat(),
        ctcae_grade=5,
        outcome="fatal",
        serious=True,
        seriousness_criteria=["death"],
    )
    r = await client.post(url(p["id"]), json=fatal, headers=investigator.headers)
    assert r.status_code == 201, r.text
    assert r.json()["report_due_at"] is not None


async def test_voided_event_leaves_the_lists(client, investigator, control):
    pid = control["id"]
    created = await client.post(url(pid), json=ae(), headers=investigator.headers)
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    r = await client.post(
        url(pid, event_id, "void"),
        json={"reason": "duplicate entry"},
        headers={**investigator.headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    listed = await client.get(url(pid), headers=investigator.headers)
    assert event_id not in {e["id"] for e in listed.json()["items"]}
