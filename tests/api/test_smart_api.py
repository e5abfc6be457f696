"""SMART Backend Services end to end: generated RSA and EC P-384 key pairs, a client registered
by an admin, assertions signed RS384/ES384, scoped 5-minute tokens used on /fhir; and every
refusal (replayed jti, expired or too-long exp, wrong aud, unknown key, wrong scope)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from tests.fhir_bundles import observation, patient, transaction
from tests.helpers import Actor, make_actor, make_participant

TOKEN_URL = "http://test/api/v1/auth/client-token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FHIR = "application/fhir+json"


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {
        "rsa": RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS384"}),
        "ec": ECKey.generate_key("P-384", parameters={"kid": "ec-1", "alg": "ES384"}),
        "stranger": RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS384"}),
    }


def public(*pairs: Any) -> dict[str, Any]:
    return KeySet(list(pairs)).as_dict(private=False)


def assertion(key: Any, client_id: str, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": now + 240,
        "iat": now,
        "jti": uuid.uuid4().hex,
    }
    body.update(claims)
    alg = "RS384" if key.key_type == "RSA" else "ES384"
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, body, key, algorithms=[alg])


def form(signed: str, scope: str = "system/*.rs system/Observation.c") -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        "scope": scope,
    }


async def register(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    user_id: str,
    jwks: dict[str, Any],
    scopes: list[str],
) -> httpx.Response:
    body = {"name": "lab feed", "user_id": user_id, "jwks": jwks, "scopes": scopes}
    return await client.post("/api/v1/integration-clients", json=body, headers=admin)


@pytest.fixture(scope="module")
async def feed(client, admin_headers, site, keys) -> dict[str, Any]:
    user = await make_actor(client, admin_headers, "integration", site)
    both = await register(
        client,
        admin_headers,
        user.user_id,
        public(keys["rsa"], keys["ec"]),
        ["system/*.rs", "system/Observation.c"],
    )
    reader = await register(
        client, admin_headers, user.user_id, public(keys["ec"]), ["system/*.rs"]
    )
    assert both.status_code == reader.status_code == 201, both.text
    return {"client": both.json()["client_id"], "reader": reader.json()["client_id"], "user": user}


async def token(
    client: httpx.AsyncClient, signed: str, scope: str = "system/*.rs system/Observation.c"
) -> httpx.Response:
    return await client.post("/api/v1/auth/client-token", data=form(signed, scope))


async def test_rs384_and_es384_tokens_work_on_fhir(client, feed, keys, investigator, db):
    pid = (await make_participant(client, investigator))["id"]
    for hours, key in enumerate((keys["rsa"], keys["ec"]), start=1):
        r = await token(client, assertion(key, feed["client"]))
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        body = r.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] <= 300
        assert set(body["scope"].split()) == {"system/*.rs", "system/Observation.c"}
        bearer = {"Authorization": f"Bearer {body['access_token']}"}
        read = await client.get(f"/fhir/Patient/{pid}", headers=bearer)
        assert read.status_code == 200, read.text
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600 * hours))
        bundle = transaction([observation(patient(pid), "1988-5", 3, "mg/L", when)])
        r = await client.post("/fhir", json=bundle, headers=bearer | {"Content-Type": FHIR})
        assert r.status_code == 200, r.text
        refused = await client.get("/api/v1/participants", headers=bearer)
        assert refused.status_code == 403  # scoped tokens are for /fhir only
    lifetime = await db.fetchval(
        "SELECT max(extract(epoch FROM expires_at - created_at)) FROM api_tokens"
        " WHERE kind = 'client'"
    )
    assert lifetime <= 301


async def test_a_read_only_client_may_not_ingest(client, feed, keys, investigator):
    r = await token(client, assertion(keys["ec"], feed["reader"]), "system/*.rs")
    assert r.status_code == 200, r.text
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}", "Content-Type": FHIR}
    pid = (await make_participant(client, investigator))["id"]
    bundle = transaction([observation(patient(pid), "1988-5", 3, "mg/L", "2026-01-01T08:00:00Z")])
    r = await client.post("/fhir", json=bundle, headers=bearer)
    assert r.status_code == 403
    assert r.headers["content-type"] == FHIR
    assert r.json()["issue"][0]["code"] == "forbidden"
    r = await token(client, assertion(keys["ec"], feed["reader"]), "system/Observation.c")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_scope")


def _refusals(keys: dict[str, Any], cid: str) -> list[tuple[str, str, str]]:
    now = int(time.time())
    return [
        ("expired", assertion(keys["rsa"], cid, exp=now - 120, iat=now - 400), "invalid_client"),
        ("exp 10 minutes ahead", assertion(keys["rsa"], cid, exp=now + 600), "invalid_client"),
        ("wrong aud", assertion(keys["rsa"], cid, aud="https://elsewhere/token"), "invalid_client"),
        ("sub is not iss", assertion(keys["rsa"], cid, sub="someone"), "invalid_client"),
        ("no jti", assertion(keys["rsa"], cid, jti=None), "invalid_client"),
        ("unregistered key", assertion(keys["stranger"], cid), "invalid_client"),
        ("unknown client", assertion(keys["rsa"], str(uuid.uuid4())), "invalid_client"),
        ("garbage", "not.a.jwt", "invalid_client"),
    ]


async def test_refusals(client, feed, keys):
    for name, signed, error in _refusals(keys, feed["client"]):
        r = await token(client, signed)
        assert r.status_code == 400, (name, r.text)
        body = r.json()
        assert (body["error"], r.headers["content-type"]) == (error, "application/problem+json"), (
            name
        )
        assert r.headers["cache-control"] == "no-store"
    rs256 = RSAKey.import_key(keys["rsa"].as_dict(private=True) | {"alg": "RS256"})
    wrong_alg = jwt.encode(
        {"alg": "RS256", "kid": "rsa-1"}, {"iss": feed["client"]}, rs256, algorithms=["RS256"]
    )
    r = await token(client, wrong_alg)
    assert r.json()["error"] == "invalid_client"
    r = await client.post("/api/v1/auth/client-token", data=form("x") | {"grant_type": "password"})
    assert r.json()["error"] == "unsupported_grant_type"
    r = await token(client, assertion(keys["rsa"], feed["client"]), "patient/*.read")
    assert r.json()["error"] == "invalid_scope"


async def test_a_jti_is_used_once(client, feed, keys):
    signed = assertion(keys["ec"], feed["client"])
    assert (await token(client, signed)).status_code == 200
    again = await token(client, signed)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_client")
    assert "jti" in again.json()["error_description"]


def test_a_jti_is_used_once_across_workers(server, feed, keys):
    """Eight concurrent requests with one assertion against two uvicorn workers: one token."""
    signed = assertion(keys["rsa"], feed["client"], aud=TOKEN_URL)

    async def race() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            calls = [http.post("/api/v1/auth/client-token", data=form(signed)) for _ in range(8)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    statuses = asyncio.run(race())
    assert sorted(statuses) == [200] + [400] * 7


async def test_token_responses_are_never_replayed(client, feed, keys):
    key = {"Idempotency-Key": uuid.uuid4().hex}
    signed = assertion(keys["rsa"], feed["client"])
    first = await client.post("/api/v1/auth/client-token", data=form(signed), headers=key)
    assert first.status_code == 200
    # the endpoint is anonymous: idempotency (per user) does not apply, and the jti is spent
    again = await client.post("/api/v1/auth/client-token", data=form(signed), headers=key)
    assert again.status_code == 400


@pytest.mark.filterwarnings("ignore:Key size should be")  # the 1024-bit key is the point
async def test_registration_is_checked(client, admin_headers, feed, keys, site):
    user_id = feed["user"].user_id
    private = {"keys": [keys["rsa"].as_dict(private=True)]}
    weak = RSAKey.generate_key(1024, parameters={"kid": "weak"})
    p256 = ECKey.generate_key("P-256", parameters={"kid": "p256"})
    for jwks in (
        private,
        public(weak),
        public(p256),
        {"keys": []},
        {"keys": [{"kty": "oct", "kid": "x"}]},
    ):
        r = await register(client, admin_headers, user_id, jwks, ["system/*.rs"])
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "jwks"
    investigator = await make_actor(client, admin_headers, "investigator", site)
    r = await register(
        client, admin_headers, investigator.user_id, public(keys["ec"]), ["system/*.rs"]
    )
    assert r.status_code == 422
    r = await register(client, admin_headers, user_id, public(keys["ec"]), ["system/*.cruds"])
    assert r.status_code == 422
    r = await client.post("/api/v1/integration-clients", json={}, headers=investigator.headers)
    assert r.status_code == 403


async def test_deactivating_a_client_revokes_its_tokens(client, admin_headers, keys, site):
    user: Actor = await make_actor(client, admin_headers, "integration", site)
    created = await register(
        client, admin_headers, user.user_id, public(keys["rsa"]), ["system/*.rs"]
    )
    cid = created.json()["client_id"]
    assert created.json()["token_endpoint"] == TOKEN_URL
    r = await token(client, assertion(keys["rsa"], cid), "system/*.rs")
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.get("/fhir/Patient", headers=bearer)).status_code == 200
    r = await client.post(
        f"/api/v1/integration-clients/{cid}/deactivate",
        json={"reason": "key leaked"},
        headers=admin_headers,
    )
    assert (r.status_code, r.json()["active"]) == (200, False)
    assert (await client.get("/fhir/Patient", headers=bearer)).status_code == 401
    r = await token(client, assertion(keys["rsa"], cid), "system/*.rs")
    assert r.json()["error"] == "invalid_client"
    listed = await client.get("/api/v1/integration-clients", headers=admin_headers)
    assert cid in {c["client_id"] for c in listed.json()["items"]}
