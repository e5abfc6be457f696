"""The study lock (SPEC §13): PostgreSQL refuses every clinical write while it holds.

The study is locked in a database of its own (IsolatedApp): locking the shared test database
would refuse every other test's writes.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from tests.api.treatment_helpers import dose_body, randomized, visit_body
from tests.conftest import ADMIN_TOKEN, IsolatedApp
from tests.fhir_bundles import eligible_labs, patient, transaction
from tests.helpers import (
    login,
    make_actor,
    make_eligible,
    make_participant,
    make_password_user,
    make_site,
    migrate,
    screening_body,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def iso():  # type: ignore[no-untyped-def]
    async with IsolatedApp() as app:
        yield app


@pytest.fixture(scope="module")
async def world(iso):  # type: ignore[no-untyped-def]
    site = await make_site(iso.client, ADMIN)
    inv = await make_actor(iso.client, ADMIN, "investigator", site)
    pid, day1 = await randomized(iso.client, ADMIN, inv, arm="exosome")
    fresh = (await make_participant(iso.client, inv))["id"]
    eligible = (await make_eligible(iso.client, inv))["id"]
    return {
        "site": site,
        "inv": inv,
        "pid": pid,
        "day1": day1,
        "fresh": fresh,
        "eligible": eligible,
    }


def every_clinical_write(world, now) -> list[tuple[str, str, dict | None]]:  # type: ignore[no-untyped-def]
    """One valid request of every write route on a participant's data (SPEC §4, §7)."""
    pid, day1, fresh = world["pid"], world["day1"], world["fresh"]
    base = f"/api/v1/participants/{pid}"
    collected = (now - timedelta(hours=1)).isoformat()
    return [
        (
            "POST",
            "/api/v1/participants",
            {"site_code": world["site"], "date_of_birth": "1970-01-01", "sex": "male"},
        ),
        ("POST", f"/api/v1/participants/{fresh}/screening", screening_body()),
        (
            "POST",
            f"/api/v1/participants/{fresh}/consent",
            {"consent_date": day1.isoformat(), "form_version": "v2"},
        ),
        ("POST", f"/api/v1/participants/{world['eligible']}/randomization", None),
        ("POST", f"{base}/visits", visit_body(day1, 4, on_day=1, deviation_reason="walk")),
        ("POST", f"{base}/doses", dose_body(day1, 1)),
        (
            "POST",
            f"{base}/lab-results",
            {"analyte": "crp", "value": 12, "unit": "mg/L", "collected_at": collected},
        ),
        (
            "POST",
            f"{base}/treatments",
            {"category": "other", "name": "walk", "start_date": day1.isoformat()},
        ),
        (
            "POST",
            f"{base}/adverse-events",
            {
                "term": "Fatigue",
                "onset_date": day1.isoformat(),
                "ctcae_grade": 1,
                "serious": False,
                "seriousness_criteria": [],
                "relatedness": "not_related",
                "expectedness": "expected",
                "outcome": "recovering",
                "aware_at": collected,
            },
        ),
        ("POST", f"{base}/outcomes", {"type": "withdrawn", "date": day1.isoformat()}),
        ("PATCH", base, {"sex": "female", "reason": "walk"}),
    ]


def _locked(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "study is locked" in r.json()["detail"]
    assert r.json()["type"].endswith("/data-locked")


async def test_only_an_admin_locks_the_study(iso, world):
    monitor = await make_actor(iso.client, ADMIN, "monitor")
    assert (await iso.client.post("/api/v1/study/lock", headers=monitor.headers)).status_code == 403
    r = await iso.client.post(
        "/api/v1/study/unlock", json={"reason": "not mine"}, headers=world["inv"].headers
    )
    assert r.status_code == 403
    state = await iso.client.get("/api/v1/study/lock", headers=world["inv"].headers)
    assert state.json()["locked"] is False


async def test_a_locked_study_refuses_clinical_writes_on_every_path(
    iso, world, travel, monkeypatch
):
    inv, pid, day1 = world["inv"], world["pid"], world["day1"]
    r = await iso.client.post("/api/v1/study/lock", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["locked"] is True
    try:
        travel(day1, 4)
        base = f"/api/v1/participants/{pid}"
        # raw-SQL hot paths (visit, dose, screening, enrolment) and ORM paths alike
        _locked(
            await iso.client.post(f"{base}/visits", json=visit_body(day1, 4), headers=inv.headers)
        )
        travel(day1, 1)
        _locked(
            await iso.client.post(f"{base}/doses", json=dose_body(day1, 1), headers=inv.headers)
        )
        _locked(
            await iso.client.post(
                f"/api/v1/participants/{world['fresh']}/screening",
                json=screening_body(),
                headers=inv.headers,
            )
        )
        _locked(
            await iso.client.post(
                "/api/v1/participants",
                json={"site_code": world["site"], "date_of_birth": "1970-01-01", "sex": "male"},
                headers=inv.headers,
            )
        )
        collected = (travel(day1, 1) - timedelta(hours=1)).isoformat()
        lab = {"analyte": "crp", "value": 12, "unit": "mg/L", "collected_at": collected}
        _locked(await iso.client.post(f"{base}/lab-results", json=lab, headers=inv.headers))
        # every other write route, with a body that would be recorded without the lock
        for method, path, body in every_clinical_write(world, travel(day1, 1)):
            headers = dict(inv.headers)
            if method == "PATCH":
                headers["If-Match"] = (await iso.client.get(path, headers=inv.headers)).headers[
                    "ETag"
                ]
            r = await iso.client.request(method, path, json=body, headers=headers)
            assert r.status_code == 409, (method, path, r.text)
            assert "study is locked" in r.json()["detail"], (method, path)
        # FHIR lab ingest: a 409 OperationOutcome
        effective = travel(day1, 1).isoformat(timespec="seconds")
        r = await iso.client.post(
            "/fhir",
            json=transaction(eligible_labs(patient(pid), effective)),
            headers={**inv.headers, "Content-Type": "application/fhir+json"},
        )
        assert r.status_code == 409, r.text
        assert r.json()["resourceType"] == "OperationOutcome"
        assert "study is locked" in r.text
        # and behind the service's back, as the owner
        with pytest.raises(asyncpg.PostgresError) as refused:
            await iso.db.execute("UPDATE participants SET sex = 'male' WHERE id = $1::uuid", pid)
        assert refused.value.sqlstate == "DL001"
    finally:
        monkeypatch.undo()
        r = await iso.client.post(
            "/api/v1/study/unlock", json={"reason": "test over"}, headers=ADMIN
        )
        assert r.status_code == 200, r.text


async def test_non_clinical_writes_and_reports_keep_working_under_the_lock(iso, world):
    assert (await iso.client.post("/api/v1/study/lock", headers=ADMIN)).status_code == 200
    try:
        user = await make_password_user(iso.client, ADMIN, "statistician")  # users, tokens
        assert (await login(iso.client, user["username"], user["password"])).status_code == 200
        assert (await login(iso.client, user["username"], "wrong password!")).status_code == 401
        await make_site(iso.client, ADMIN)
        assert (await iso.client.get("/api/v1/audit/verify", headers=ADMIN)).json()["valid"]
        assert (await iso.client.get("/api/v1/exports/odm", headers=ADMIN)).status_code == 200
        state = (await iso.client.get("/api/v1/study/lock", headers=ADMIN)).json()
        for report in ("endpoints", "consort", "safety"):
            lock = (await iso.client.get(f"/api/v1/reports/{report}", headers=ADMIN)).json()[
                "data_lock"
            ]
            assert lock["study_locked"] is True, report
            assert lock["locked_at"] == state["locked_at"]
            assert "locked for the final analysis" in lock["statement"]
        again = await iso.client.post("/api/v1/study/lock", headers=ADMIN)
        assert again.status_code == 409
    finally:
        r = await iso.client.post(
            "/api/v1/study/unlock", json={"reason": "interim look over"}, headers=ADMIN
        )
        assert r.status_code == 200, r.text
    assert r.json()["unlock_reason"] == "interim look over"
    lock = (await iso.client.get("/api/v1/reports/endpoints", headers=ADMIN)).json()["data_lock"]
    assert lock["study_locked"] is False
    unlocked = await iso.client.post(
        f"/api/v1/participants/{world['fresh']}/screening",
        json=screening_body(),
        headers=world["inv"].headers,
    )
    assert unlocked.status_code == 201, unlocked.text
    trail = await iso.client.get("/api/v1/audit?table=study_lock", headers=ADMIN)
    assert "interim look over" in [e["reason"] for e in trail.json()["items"]]


async def test_the_data_management_migration_downgrades_and_upgrades_again(iso, world):
    """Last in this module: it takes the module's database down to 0009 and back."""
    await migrate(iso.url, "downgrade", "0009")
    assert await iso.db.fetchval("SELECT to_regclass('study_lock')") is None
    triggers = await iso.db.fetchval(
        "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'datamgmt%'"
    )
    assert triggers == 0
    await migrate(iso.url, "upgrade", "head")
    assert (await iso.client.get("/api/v1/study/lock", headers=ADMIN)).json()["locked"] is False
    verdict = await iso.client.get("/api/v1/audit/verify", headers=ADMIN)
    assert verdict.json()["valid"] is True, verdict.text
