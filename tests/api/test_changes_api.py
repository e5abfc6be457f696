"""The change feed (SPEC §9.2): every committed change exactly once, in a stable order, even
while writers commit out of order; filtered by the caller's site."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.services.changes import RESOURCES
from tests.helpers import make_actor, make_participant, make_site

WRITERS = 30
WRITES_EACH = 3
FEED = "/api/v1/changes"


async def _page(http: httpx.AsyncClient, headers: dict[str, str], after: str, limit: int) -> dict:
    r = await http.get(FEED, params={"after": after, "limit": limit}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _drain(http, headers, after: str, seen: list[dict]) -> str:
    """Page until a short page: the feed is caught up."""
    while True:
        page = await _page(http, headers, after, 7)
        seen += page["items"]
        after = page["next_cursor"]
        if len(page["items"]) < 7:
            return after


async def _drain_until(http, headers, after: str, seen: list[dict], count: int) -> str:
    """Drain until `count` changes are seen: an unrelated transaction still running (a
    background worker's, say) rightly holds newer changes back until it ends."""
    for _ in range(200):
        after = await _drain(http, headers, after, seen)
        if len(seen) >= count:
            return after
        await asyncio.sleep(0.05)
    return after


async def _truth(db, site_code: str) -> list[str]:
    """Every audit row of the site's participant-level records, as cursors."""
    rows = await db.fetch(
        "SELECT a.txid, a.id FROM audit_log a JOIN participants p"
        " ON p.id = a.participant_id::uuid JOIN sites s ON s.id = p.site_id"
        " WHERE s.code = $1 AND a.table_name = ANY($2::text[]) ORDER BY a.txid, a.id",
        site_code,
        list(RESOURCES),
    )
    return [f"{r['txid']}-{r['id']}" for r in rows]


async def test_each_change_exactly_once_while_30_writers_commit(client, admin_headers, server, db):
    site = await make_site(client, admin_headers)
    reader = await make_actor(client, admin_headers, "coordinator", site)
    writers = [await make_actor(client, admin_headers, "investigator", site) for _ in range(3)]
    seen: list[dict] = []
    cursor = await _drain(client, reader.headers, "0-0", seen)
    assert seen == []  # a new site: nothing yet
    done = asyncio.Event()

    async with httpx.AsyncClient(base_url=server.url, timeout=60) as remote:

        async def write(n: int) -> None:
            actor = writers[n % len(writers)]
            for _ in range(WRITES_EACH):
                p = await make_participant(remote, actor)
                r = await remote.post(
                    f"/api/v1/participants/{p['id']}/consent",
                    json={"consent_date": "2026-11-01", "form_version": "v1"},
                    headers=actor.headers,
                )
                assert r.status_code == 201, r.text

        async def read() -> None:
            nonlocal cursor
            pages = 0
            while not done.is_set() or pages == 0:
                page = await _page(remote, reader.headers, cursor, 5)
                seen.extend(page["items"])
                cursor = page["next_cursor"]
                pages += 1
                await asyncio.sleep(0)

        reading = asyncio.create_task(read())
        await asyncio.gather(*(write(n) for n in range(WRITERS)))
        done.set()
        await reading
        truth = await _truth(db, site)
        cursor = await _drain_until(remote, reader.headers, cursor, seen, len(truth))

    cursors = [item["cursor"] for item in seen]
    assert len(cursors) == len(set(cursors)), "a change was handed out twice"
    assert cursors == sorted(cursors, key=lambda c: tuple(int(x) for x in c.split("-")))
    assert cursors == truth  # none missing, none extra, same order
    created = {i["id"] for i in seen if i["resource"] == "participant" and i["action"] == "created"}
    assert len(created) == WRITERS * WRITES_EACH


async def test_a_change_committed_late_is_not_skipped(client, admin_headers, db):
    """An older transaction that commits after a newer one: the feed waits for it."""
    site = await make_site(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    first = await make_participant(client, inv)
    cursor = await _drain(client, inv.headers, "0-0", [])
    slow = db.transaction()
    await slow.start()
    try:
        await db.execute(  # a write behind the service's back, audited by the trigger
            "UPDATE participants SET version = version + 1 WHERE id = $1::uuid", first["id"]
        )
        second = await make_participant(client, inv)  # a newer transaction commits first
        held: list[dict] = []
        await _drain(client, inv.headers, cursor, held)
        assert held == []  # held back: handing out `second` now would skip `first` forever
    finally:
        await slow.commit()
    later: list[dict] = []
    await _drain_until(client, inv.headers, cursor, later, 2)
    assert [(i["id"], i["action"]) for i in later] == [
        (first["id"], "updated"),
        (second["id"], "created"),
    ]


async def _now(db) -> str:
    """A cursor at the newest change so far (nothing else is writing in these tests)."""
    row = await db.fetchrow("SELECT txid, id FROM audit_log ORDER BY txid DESC, id DESC LIMIT 1")
    return f"{row['txid']}-{row['id']}"


async def test_another_sites_changes_are_not_shown(client, admin_headers, db):
    mine = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    other = await make_actor(
        client, admin_headers, "investigator", await make_site(client, admin_headers)
    )
    start = await _now(db)
    theirs = await make_participant(client, other)
    seen: list[dict] = []
    await _drain(client, mine.headers, start, seen)
    assert theirs["id"] not in {i["id"] for i in seen}
    everything: list[dict] = []
    await _drain_until(client, admin_headers, start, everything, 1)
    assert theirs["id"] in {i["id"] for i in everything}
    assert not {i["resource"] for i in everything} - set(RESOURCES.values())


@pytest.mark.parametrize("cursor", ["x", "1-", "-1", "99999999999999999999-1"])
async def test_a_bad_cursor_is_422(client, admin_headers, cursor):
    r = await client.get(FEED, params={"after": cursor}, headers=admin_headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.after"
