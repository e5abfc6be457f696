"""Webhook subscriptions over HTTP, the URL rules, and the outbox's transaction (SPEC §12)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from app.services.events import record_event
from tests.api.treatment_helpers import dose_body, randomized, visit_body
from tests.api.webhook_helpers import ae_body, events_of, subscribe
from tests.helpers import (
    insert_given_dose,
    make_actor,
    make_randomized,
    randomized_days_ago,
)

HOOK = "http://127.0.0.1:9/hook"  # never called here: these tests run no worker


async def test_subscription_lifecycle_and_secret_shown_once(client, admin_headers, site):
    r = await client.post(
        "/api/v1/webhooks",
        json={"url": HOOK, "events": ["dose.recorded", "visit.overdue"], "site_code": site},
        headers={**admin_headers, "Idempotency-Key": "hook-" + uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    created = r.json()
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) >= 24
    assert created["site_code"] == site
    assert created["active"] is True
    replay = await client.post(
        "/api/v1/webhooks",
        json={"url": HOOK, "events": ["dose.recorded", "visit.overdue"], "site_code": site},
        headers={**admin_headers, "Idempotency-Key": r.request.headers["idempotency-key"]},
    )
    assert replay.status_code == 409  # a secret is never stored for replay
    one = await client.get(f"/api/v1/webhooks/{created['id']}", headers=admin_headers)
    assert one.status_code == 200
    assert "secret" not in one.json()
    assert one.headers["etag"] == '"1"'
    listed = await client.get("/api/v1/webhooks?limit=100", headers=admin_headers)
    assert created["id"] in [i["id"] for i in listed.json()["items"]]
    for _ in range(2):  # deactivating again answers the same
        gone = await client.delete(f"/api/v1/webhooks/{created['id']}", headers=admin_headers)
        assert gone.status_code == 200
        assert gone.json()["active"] is False
    kept = await client.get(f"/api/v1/webhooks/{created['id']}", headers=admin_headers)
    assert kept.json()["deactivated_at"] is not None
    deliveries = await client.get(
        f"/api/v1/webhooks/{created['id']}/deliveries", headers=admin_headers
    )
    assert deliveries.status_code == 200
    assert deliveries.json()["total"] == 0


async def test_only_admin_manages_webhooks(client, admin_headers, site):
    created = await subscribe(client, admin_headers, HOOK, ["dose.recorded"], site)
    hid = created["id"]
    for role in ("investigator", "monitor", "statistician", "dsmb", "integration"):
        actor = await make_actor(
            client, admin_headers, role, site if role in ("investigator", "integration") else None
        )
        for method, path in [
            ("POST", "/api/v1/webhooks"),
            ("GET", "/api/v1/webhooks"),
            ("GET", f"/api/v1/webhooks/{hid}"),
            ("DELETE", f"/api/v1/webhooks/{hid}"),
            ("GET", f"/api/v1/webhooks/{hid}/deliveries"),
        ]:
            body = {"url": HOOK, "events": ["dose.recorded"]} if method == "POST" else None
            r = await client.request(method, path, json=body, headers=actor.headers)
            assert r.status_code == 403, (role, method, path, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
    await client.delete(f"/api/v1/webhooks/{hid}", headers=admin_headers)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://partner.example.org/hook", "https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost:8443/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://169.254.10.1/hook", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://user:pw@partner.example.org/hook", "credentials"),
        ("ftp://partner.example.org/hook", "https"),
    ],
)
async def test_unsafe_urls_are_refused_on_the_field(client, admin_headers, app, url, why):
    lenient = app.state.settings
    app.state.settings = lenient.model_copy(update={"webhook_allow_http": False})
    try:
        r = await client.post(
            "/api/v1/webhooks",
            json={"url": url, "events": ["dose.recorded"]},
            headers=admin_headers,
        )
    finally:
        app.state.settings = lenient
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert [e["field"] for e in errors] == ["url"]
    assert why in errors[0]["message"]


async def test_unknown_site_and_event_are_refused(client, admin_headers):
    r = await client.post(
        "/api/v1/webhooks",
        json={"url": HOOK, "events": ["dose.recorded"], "site_code": "NOPE"},
        headers=admin_headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "site_code"
    r = await client.post(
        "/api/v1/webhooks", json={"url": HOOK, "events": ["dose.eaten"]}, headers=admin_headers
    )
    assert r.status_code == 422


async def test_committed_write_leaves_one_event_and_a_rollback_none(
    client, admin_headers, investigator, db
):
    p, allocation = await make_randomized(client, admin_headers, investigator)
    events = await events_of(db, "participant.randomized", p["id"])
    assert len(events) == 1
    data = json.loads(events[0]["payload"])["data"]
    assert data["arm"] == allocation["arm"]
    assert data["site_code"] == investigator.site_code
    # the same call again replays the allocation: nothing new happened
    again = await client.post(
        f"/api/v1/participants/{p['id']}/randomization", headers=investigator.headers
    )
    assert again.status_code == 200
    assert len(await events_of(db, "participant.randomized", p["id"])) == 1
    tx = db.transaction()
    await tx.start()
    await record_event(db, "dose.recorded", uuid.UUID(p["id"]), {"id": str(uuid.uuid4())})
    assert len(await events_of(db, "dose.recorded", p["id"])) == 1  # inside the transaction
    await tx.rollback()
    assert await events_of(db, "dose.recorded", p["id"]) == []


async def test_refused_write_emits_nothing(client, admin_headers, investigator, db):
    p, _ = await make_randomized(client, admin_headers, investigator)
    r = await client.post(
        f"/api/v1/participants/{p['id']}/visits",
        json={"visit_day": 5, "visit_date": date.today().isoformat(), "vital_status": "alive"},
        headers=investigator.headers,
    )
    assert r.status_code == 422
    r = await client.post(
        f"/api/v1/participants/{p['id']}/outcomes",
        json={"type": "death", "date": (date.today() + timedelta(days=30)).isoformat()},
        headers=investigator.headers,
    )
    assert r.status_code == 422, r.text
    for kind in ("visit.recorded", "outcome.recorded"):
        assert await events_of(db, kind, p["id"]) == []


async def test_upgrade_to_serious_is_announced_once(client, admin_headers, investigator, db):
    p, _ = await make_randomized(client, admin_headers, investigator, arm="control")
    base = f"/api/v1/participants/{p['id']}/adverse-events"
    r = await client.post(base, json=ae_body(serious=False), headers=investigator.headers)
    assert r.status_code == 201, r.text
    assert await events_of(db, "adverse_event.serious", p["id"]) == []
    ae_id = r.json()["id"]
    upgrade = {"serious": True, "seriousness_criteria": ["hospitalization"], "ctcae_grade": 3}
    r = await client.patch(
        f"{base}/{ae_id}",
        json={**upgrade, "reason": "hospitalized"},
        headers={**investigator.headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"{base}/{ae_id}",
        json={"outcome": "recovered", "end_date": date.today().isoformat(), "reason": "better"},
        headers={**investigator.headers, "If-Match": '"2"'},
    )
    assert r.status_code == 200, r.text
    events = await events_of(db, "adverse_event.serious", p["id"])
    assert len(events) == 1
    assert str(events[0]["payload"]).count(ae_id) == 1


async def test_dose_and_visit_on_the_driver_path_announce_once(
    client, admin_headers, investigator, travel, db
):
    pid, day1 = await randomized(client, admin_headers, investigator)
    travel(day1, 4, hour=18)
    r = await client.post(
        f"/api/v1/participants/{pid}/doses",
        json=dose_body(day1, 1, day=1),
        headers=investigator.headers,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/participants/{pid}/visits", json=visit_body(day1, 4), headers=investigator.headers
    )
    assert r.status_code == 201, r.text
    doses = await events_of(db, "dose.recorded", pid)
    visits = await events_of(db, "visit.recorded", pid)
    assert [json.loads(e["payload"])["data"]["dose_number"] for e in doses] == [1]
    assert [json.loads(e["payload"])["data"]["visit_day"] for e in visits] == [4]


async def test_a_susar_is_announced_as_serious_and_as_susar(
    client, admin_headers, investigator, monkeypatch, db
):
    p, day1 = await randomized_days_ago(
        client, admin_headers, investigator, monkeypatch, 6, arm="exosome"
    )
    started = datetime.combine(day1, datetime.min.time(), UTC) + timedelta(hours=4)
    await insert_given_dose(db, p["id"], started)
    aware = started + timedelta(days=2)
    body = {
        **ae_body(serious=True, aware=aware),
        "relatedness": "probable",
        "expectedness": "unexpected",
    }
    r = await client.post(
        f"/api/v1/participants/{p['id']}/adverse-events", json=body, headers=investigator.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["susar"] is True
    assert len(await events_of(db, "adverse_event.serious", p["id"])) == 1
    susars = await events_of(db, "adverse_event.susar", p["id"])
    assert [json.loads(e["payload"])["data"]["id"] for e in susars] == [r.json()["id"]]
