"""Account lifecycle (SPEC §8, issue 10 finding 1): deactivation, password reset, token
listing, logout, short-lived and capped login tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import ADMIN_TOKEN, IsolatedApp
from tests.helpers import client_from, login, make_actor, make_password_user, make_site

TOKEN_FIELDS = {"id", "name", "kind", "created_at", "expires_at", "last_used_at", "revoked_at"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _user_etag(client, admin_headers, user_id: str) -> str:
    r = await client.get(f"/api/v1/users/{user_id}", headers=admin_headers)
    assert r.status_code == 200, r.text
    return r.headers["etag"]


async def test_get_user_answers_with_an_etag(client, admin_headers):
    site = await make_site(client, admin_headers)
    user = await make_password_user(client, admin_headers, "coordinator", site)
    r = await client.get(f"/api/v1/users/{user['id']}", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"1"'
    body = r.json()
    assert body["username"] == user["username"]
    assert body["site_code"] == site
    assert body["active"] is True
    assert body["password_set"] is True
    assert "password_hash" not in r.text
    assert "argon2" not in r.text
    missing = await client.get(
        "/api/v1/users/00000000-0000-0000-0000-000000000000", headers=admin_headers
    )
    assert missing.status_code == 404


async def test_deactivation_revokes_every_token_and_login_then_fails(app, client, admin_headers):
    user = await make_password_user(client, admin_headers, "monitor")
    async with client_from(app) as remote:
        logins = [await login(remote, user["username"], user["password"]) for _ in range(2)]
        assert all(r.status_code == 200 for r in logins), [r.text for r in logins]
        api = await client.post(
            f"/api/v1/users/{user['id']}/tokens", json={}, headers=admin_headers
        )
        tokens = [r.json()["access_token"] for r in logins] + [api.json()["token"]]
        for token in tokens:
            assert (await client.get("/api/v1/sites", headers=bearer(token))).status_code == 200

        etag = await _user_etag(client, admin_headers, user["id"])
        r = await client.patch(
            f"/api/v1/users/{user['id']}",
            json={"active": False, "reason": "left the study team"},
            headers={**admin_headers, "If-Match": etag},
        )
        assert r.status_code == 200, r.text
        assert r.json()["active"] is False
        assert r.headers["etag"] == '"2"'
        for token in tokens:
            assert (await client.get("/api/v1/sites", headers=bearer(token))).status_code == 401
        again = await login(remote, user["username"], user["password"])
        assert again.status_code == 401
    listed = await client.get(f"/api/v1/users/{user['id']}/tokens", headers=admin_headers)
    assert listed.json()["total"] == 3
    assert all(t["revoked_at"] is not None for t in listed.json()["items"])
    refused = await client.post(
        f"/api/v1/users/{user['id']}/tokens", json={}, headers=admin_headers
    )
    assert refused.status_code == 409


async def test_password_reset_revokes_every_token(app, client, admin_headers):
    user = await make_password_user(client, admin_headers, "statistician")
    async with client_from(app) as remote:
        token = (await login(remote, user["username"], user["password"])).json()["access_token"]
        etag = await _user_etag(client, admin_headers, user["id"])
        r = await client.patch(
            f"/api/v1/users/{user['id']}",
            json={"password": "a brand new passphrase", "reason": "forgotten password"},
            headers={**admin_headers, "If-Match": etag},
        )
        assert r.status_code == 200, r.text
        assert (await client.get("/api/v1/sites", headers=bearer(token))).status_code == 401
        assert (await login(remote, user["username"], user["password"])).status_code == 401
        assert (await login(remote, user["username"], "a brand new passphrase")).status_code == 200


async def test_patch_user_needs_if_match_reason_and_a_change(client, admin_headers):
    user = await make_password_user(client, admin_headers, "dsmb")
    url = f"/api/v1/users/{user['id']}"
    r = await client.patch(url, json={"active": False, "reason": "why not"}, headers=admin_headers)
    assert r.status_code == 428
    r = await client.patch(
        url, json={"active": False}, headers={**admin_headers, "If-Match": '"1"'}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "reason"
    r = await client.patch(
        url, json={"reason": "nothing"}, headers={**admin_headers, "If-Match": '"1"'}
    )
    assert r.status_code == 422
    r = await client.patch(
        url,
        json={"password": "short", "reason": "too short"},
        headers={**admin_headers, "If-Match": '"1"'},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "password"
    r = await client.patch(
        url,
        json={"active": False, "reason": "stale"},
        headers={**admin_headers, "If-Match": '"7"'},
    )
    assert r.status_code == 412
    r = await client.patch(
        url,
        json={"role": "admin", "reason": "escalate"},
        headers={**admin_headers, "If-Match": '"1"'},
    )
    assert r.status_code == 422


async def test_token_listing_is_metadata_only(client, admin_headers):
    actor = await make_actor(client, admin_headers, "monitor")
    r = await client.get(f"/api/v1/users/{actor.user_id}/tokens", headers=admin_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1
    assert set(body["items"][0]) == TOKEN_FIELDS
    assert body["items"][0]["kind"] == "api"
    assert actor.token not in r.text
    assert "hash" not in r.text


async def test_logout_revokes_the_calling_token_only(app, client, admin_headers):
    user = await make_password_user(client, admin_headers, "monitor")
    async with client_from(app) as remote:
        first = (await login(remote, user["username"], user["password"])).json()["access_token"]
        second = (await login(remote, user["username"], user["password"])).json()["access_token"]
    r = await client.post("/api/v1/auth/logout", headers=bearer(first))
    assert r.status_code == 204, r.text
    assert (await client.get("/api/v1/sites", headers=bearer(first))).status_code == 401
    assert (await client.get("/api/v1/sites", headers=bearer(second))).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=bearer(first))).status_code == 401


async def test_login_tokens_are_short_lived_capped_and_carry_their_id(app, client, admin_headers):
    user = await make_password_user(client, admin_headers, "monitor")
    async with client_from(app) as remote:
        issued = [
            (await login(remote, user["username"], user["password"])).json() for _ in range(6)
        ]
    now = datetime.now(UTC)
    for body in issued:
        lifetime = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")) - now
        assert timedelta(hours=11, minutes=55) < lifetime <= timedelta(hours=12)
        assert body["expires_in"] == 12 * 3600
    listed = (
        await client.get(f"/api/v1/users/{user['id']}/tokens?limit=100", headers=admin_headers)
    ).json()["items"]
    by_id = {t["id"]: t for t in listed}
    assert {b["id"] for b in issued} == set(by_id)
    assert all(t["kind"] == "login" for t in listed)
    live = [t for t in listed if t["revoked_at"] is None]
    assert len(live) == 5
    assert by_id[issued[0]["id"]]["revoked_at"] is not None  # the oldest went first
    assert (
        await client.get("/api/v1/sites", headers=bearer(issued[0]["access_token"]))
    ).status_code == 401
    assert (
        await client.get("/api/v1/sites", headers=bearer(issued[5]["access_token"]))
    ).status_code == 200


async def test_account_changes_are_audited_with_the_reason(client, admin_headers):
    actor = await make_actor(client, admin_headers, "monitor")
    etag = await _user_etag(client, admin_headers, actor.user_id)
    r = await client.patch(
        f"/api/v1/users/{actor.user_id}",
        json={"active": False, "reason": "audited deactivation"},
        headers={**admin_headers, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    tokens = await client.get(f"/api/v1/users/{actor.user_id}/tokens", headers=admin_headers)
    (token,) = tokens.json()["items"]
    for table, record in (("users", actor.user_id), ("api_tokens", token["id"])):
        trail = await client.get(
            f"/api/v1/audit?table={table}&record_id={record}", headers=admin_headers
        )
        last = trail.json()["items"][-1]
        assert (last["action"], last["reason"]) == ("UPDATE", "audited deactivation"), table


async def test_the_last_active_admin_cannot_be_deactivated():
    async with IsolatedApp() as iso:
        admin = bearer(ADMIN_TOKEN)
        users = (await iso.client.get("/api/v1/users", headers=admin)).json()["items"]
        (boot,) = [u for u in users if u["role"] == "admin"]
        etag = (await iso.client.get(f"/api/v1/users/{boot['id']}", headers=admin)).headers["etag"]
        r = await iso.client.patch(
            f"/api/v1/users/{boot['id']}",
            json={"active": False, "reason": "oops"},
            headers={**admin, "If-Match": etag},
        )
        assert r.status_code == 409, r.text
        assert "last active admin" in r.json()["detail"]
