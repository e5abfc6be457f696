"""Secrets and small items (SPEC §8, issue 10 finding 5 and "also"): no stored tokens, the
bootstrap token's lifetime, X-Request-ID, SQL parameters out of the logs, dates of birth."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.services import access as access_service
from tests.helpers import make_actor, make_site

MARKER = "Zq7-not-for-the-logs-31337"


async def test_token_responses_are_never_stored_for_replay(client, admin_headers, db):
    user = await make_actor(client, admin_headers, "monitor")
    key = f"token-{user.user_id}"
    headers = {**admin_headers, "Idempotency-Key": key}
    url = f"/api/v1/users/{user.user_id}/tokens"
    first = await client.post(url, json={"name": "ehr"}, headers=headers)
    assert first.status_code == 201, first.text
    assert first.headers["cache-control"] == "no-store"
    token = first.json()["token"]
    stored = await db.fetch("SELECT response_body FROM idempotency_keys WHERE key = $1", key)
    assert len(stored) == 1
    assert token.encode() not in bytes(stored[0]["response_body"])
    replay = await client.post(url, json={"name": "ehr"}, headers=headers)
    assert replay.status_code == 409, replay.text
    assert replay.headers["content-type"] == "application/problem+json"
    assert "secret" in replay.json()["detail"]
    assert token not in replay.text
    other_body = await client.post(url, json={"name": "other"}, headers=headers)
    assert other_body.status_code == 422


async def test_no_plaintext_token_is_left_in_the_idempotency_store(db):
    rows = await db.fetch("SELECT response_body FROM idempotency_keys")
    assert not any(b"trl_" in bytes(r["response_body"]) for r in rows)


async def test_the_bootstrap_token_lives_24_hours(db):
    lifetime = await db.fetchval(
        "SELECT t.expires_at - t.created_at FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE u.username = 'bootstrap-admin'"
    )
    assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(hours=24, minutes=1)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123", True),
        ("A.b_c-9", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("x" * 4006, False),
        ("has space", False),
        ("naïve".encode(), False),  # (not ASCII: sent as UTF-8 bytes)
        ("semi;colon", False),
    ],
)
async def test_x_request_id_is_accepted_only_as_the_spec_pattern(
    client, admin_headers, db, sent, kept
):
    r = await client.post(
        "/api/v1/sites",
        json={"code": f"R{uuid.uuid4().hex[:8].upper()}", "name": "request id probe"},
        headers={**admin_headers, "X-Request-ID": sent},
    )
    assert r.status_code == 201, r.text
    echoed = r.headers["x-request-id"]
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", echoed)
    assert (echoed == sent) is kept
    stored = await db.fetchval(
        "SELECT request_id FROM audit_log WHERE table_name = 'sites' AND record_id = $1",
        r.json()["id"],
    )
    assert stored == echoed


@pytest.mark.parametrize(
    ("sql", "status"),
    [
        # a constraint refusal whose DETAIL echoes the value
        ("INSERT INTO sites (code, name) VALUES (:v, 'a'), (:v, 'b')", 409),
        # a data exception whose message echoes the value
        ("SELECT CAST(:v AS integer)", 422),
        # an unexpected error (not classified) whose message echoes the value
        ("SELECT set_config(:v, 'x', true)", 500),
    ],
)
async def test_sql_parameters_never_reach_the_logs(
    client, admin_headers, monkeypatch, caplog, sql, status
):
    async def failing(session, data):  # type: ignore[no-untyped-def]
        await session.execute(text(sql), {"v": f"{MARKER} {data.code}"})

    monkeypatch.setattr(access_service, "create_site", failing)
    caplog.set_level(logging.DEBUG)
    r = await client.post(
        "/api/v1/sites", json={"code": "LOGX", "name": "log probe"}, headers=admin_headers
    )
    assert r.status_code == status, r.text
    assert MARKER not in r.text
    assert MARKER not in caplog.text
    assert caplog.records, "the failure should still be logged"


@pytest.mark.parametrize("dob", ["0001-01-01", "1899-12-31"])
async def test_dates_of_birth_before_1900_are_refused(client, admin_headers, dob):
    site = await make_site(client, admin_headers)
    inv = await make_actor(client, admin_headers, "investigator", site)
    r = await client.post(
        "/api/v1/participants",
        json={"site_code": site, "date_of_birth": dob, "sex": "male"},
        headers=inv.headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "date_of_birth"
    ok = await client.post(
        "/api/v1/participants",
        json={"site_code": site, "date_of_birth": "1900-01-01", "sex": "male"},
        headers=inv.headers,
    )
    assert ok.status_code == 201, ok.text
    patched = await client.patch(
        f"/api/v1/participants/{ok.json()['id']}",
        json={"date_of_birth": dob, "reason": "typo in the year"},
        headers={**inv.headers, "If-Match": '"1"'},
    )
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["field"] == "date_of_birth"
