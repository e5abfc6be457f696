"""Source data verification (SPEC §13): marked by a monitor, cleared by any later change."""

from __future__ import annotations

import pytest

from tests.api.test_queries_api import lab
from tests.helpers import make_actor, make_participant, screening_body


@pytest.fixture(scope="module")
async def monitor(client, admin_headers):  # type: ignore[no-untyped-def]
    return await make_actor(client, admin_headers, "monitor")


async def verify(client, actor, pid: str, resource: str, record_id: str):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/api/v1/participants/{pid}/sdv",
        json={"resource": resource, "record_id": record_id},
        headers=actor.headers,
    )


async def status(client, actor, pid: str) -> dict:  # type: ignore[no-untyped-def]
    r = await client.get(f"/api/v1/participants/{pid}/sdv", headers=actor.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_monitor_verifies_and_a_later_change_clears_it(client, investigator, monitor, db):
    inv = investigator
    pid = (await make_participant(client, inv))["id"]
    r = await client.post(
        f"/api/v1/participants/{pid}/screening", json=screening_body(), headers=inv.headers
    )
    screening_id = r.json()["id"]
    result = await lab(client, inv, pid)
    before = await status(client, monitor, pid)
    assert before["progress"]["verified"] == 0
    total = before["progress"]["total"]
    assert total >= 2  # the screening, its labs, and the result entered directly
    assert (await verify(client, inv, pid, "lab_result", result["id"])).status_code == 403
    r = await verify(client, monitor, pid, "lab_result", result["id"])
    assert r.status_code == 201, r.text
    assert r.json()["verified"] is True
    assert r.json()["verified_by"] == monitor.user_id
    assert (await verify(client, monitor, pid, "lab_result", result["id"])).status_code == 409
    assert (await verify(client, monitor, pid, "screening", screening_id)).status_code == 201
    assert (await status(client, inv, pid))["progress"] == {"verified": 2, "total": total}
    # a correction through the API clears the result's mark
    url = f"/api/v1/participants/{pid}/lab-results/{result['id']}"
    etag = (await client.get(url, headers=inv.headers)).headers["ETag"]
    r = await client.patch(
        url,
        json={"value": 14, "reason": "transcription"},
        headers={**inv.headers, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    after = await status(client, monitor, pid)
    by_id = {i["record_id"]: i for i in after["items"]}
    assert by_id[result["id"]]["verified"] is False
    assert by_id[screening_id]["verified"] is True
    # a change made behind the service's back clears it too (PostgreSQL does it)
    await db.execute("UPDATE screenings SET he_grade = 2 WHERE id = $1::uuid", screening_id)
    assert (await status(client, monitor, pid))["progress"] == {"verified": 0, "total": total}
    # and the record can be verified again
    assert (await verify(client, monitor, pid, "lab_result", result["id"])).status_code == 201


async def test_only_the_participants_own_records(client, investigator, monitor):
    pid = (await make_participant(client, investigator))["id"]
    other = (await make_participant(client, investigator))["id"]
    result = await lab(client, investigator, other)
    r = await verify(client, monitor, pid, "lab_result", result["id"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "record_id"


async def test_sdv_is_a_page_and_progress_counts_every_record(client, investigator, monitor):
    inv = investigator
    pid = (await make_participant(client, inv))["id"]
    r = await client.post(
        f"/api/v1/participants/{pid}/screening", json=screening_body(), headers=inv.headers
    )
    assert r.status_code == 201, r.text
    whole = await status(client, monitor, pid)
    r = await client.get(f"/api/v1/participants/{pid}/sdv?limit=1", headers=monitor.headers)
    assert r.status_code == 200, r.text
    page = r.json()
    assert whole["total"] == whole["progress"]["total"] > 1
    assert (page["total"], page["limit"], page["offset"]) == (whole["total"], 1, 0)
    assert page["items"] == whole["items"][:1]
    assert page["progress"] == whole["progress"]
