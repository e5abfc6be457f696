"""Sites, users, tokens, password login, token revocation and expiry."""

from __future__ import annotations

from tests.helpers import make_actor, make_site


async def test_site_create_list_and_duplicate(client, admin_headers):
    code = await make_site(client, admin_headers)
    r = await client.post(
        "/api/v1/sites", json={"code": code, "name": "again"}, headers=admin_headers
    )
    assert r.status_code == 409
    listed = await client.get("/api/v1/sites?limit=100", headers=admin_headers)
    assert code in {s["code"] for s in listed.json()["items"]}


async def test_site_timezone_must_be_known(client, admin_headers):
    r = await client.post(
        "/api/v1/sites",
        json={"code": "TZX", "name": "x", "timezone": "Mars/Olympus"},
        headers=admin_headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "timezone"


async def test_site_bound_roles_need_a_site_and_global_roles_none(client, admin_headers):
    r = await client.post(
        "/api/v1/users", json={"username": "nosite1", "role": "investigator"}, headers=admin_headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "site_code"
    site = await make_site(client, admin_headers)
    r = await client.post(
        "/api/v1/users",
        json={"username": "mon-with-site", "role": "monitor", "site_code": site},
        headers=admin_headers,
    )
    assert r.status_code == 422


async def test_password_login_issues_a_working_token(client, admin_headers):
    site = await make_site(client, admin_headers)
    body = {
        "username": "coord-login",
        "role": "coordinator",
        "site_code": site,
        "password": "a long passphrase",
    }
    assert (await client.post("/api/v1/users", json=body, headers=admin_headers)).status_code == 201
    bad = await client.post(
        "/api/v1/auth/token", data={"username": "coord-login", "password": "wrong password"}
    )
    assert bad.status_code == 401
    r = await client.post(
        "/api/v1/auth/token", data={"username": "coord-login", "password": "a long passphrase"}
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = await client.get("/api/v1/sites", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


async def test_revoked_token_is_refused_and_hash_only_is_stored(client, admin_headers, db):
    actor = await make_actor(client, admin_headers, "monitor")
    assert (await client.get("/api/v1/sites", headers=actor.headers)).status_code == 200
    stored = await db.fetch("SELECT token_hash FROM api_tokens")
    assert all(actor.token.encode() not in bytes(row["token_hash"]) for row in stored)
    token_id = await db.fetchval(
        "SELECT id FROM api_tokens WHERE user_id = $1::uuid", actor.user_id
    )
    r = await client.post(f"/api/v1/tokens/{token_id}/revoke", headers=admin_headers)
    assert r.status_code == 200
    assert (await client.get("/api/v1/sites", headers=actor.headers)).status_code == 401


async def test_expired_token_is_refused(client, admin_headers, db):
    actor = await make_actor(client, admin_headers, "monitor")
    await db.execute(
        "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1::uuid",
        actor.user_id,
    )
    assert (await client.get("/api/v1/sites", headers=actor.headers)).status_code == 401


async def test_token_last_used_is_recorded(client, admin_headers, db):
    actor = await make_actor(client, admin_headers, "statistician")
    await client.get("/api/v1/sites", headers=actor.headers)
    used = await db.fetchval(
        "SELECT last_used_at FROM api_tokens WHERE user_id = $1::uuid", actor.user_id
    )
    assert used is not None
