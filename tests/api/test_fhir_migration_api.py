"""Migration 0009 (fhir) downgrades with its data in place and upgrades again."""

from __future__ import annotations

import time
import uuid

from alembic import command
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.migrate import alembic_config
from tests.conftest import ADMIN_TOKEN, IsolatedApp
from tests.fhir_bundles import observation, patient, transaction
from tests.helpers import make_actor

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


async def _fill(client, admin) -> None:  # type: ignore[no-untyped-def]
    """An MRN, an ingested Observation, a client and a live client token."""
    r = await client.post(
        "/api/v1/sites",
        json={"code": "MG1", "name": "migration", "mrn_system": "urn:oid:1.2.3.4"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    user = await make_actor(client, admin, "integration", "MG1")
    body = {"site_code": "MG1", "date_of_birth": "1970-01-01", "sex": "male", "mrn": "M-1"}
    pid = (await client.post("/api/v1/participants", json=body, headers=user.headers)).json()["id"]
    bundle = transaction([observation(patient(pid), "1988-5", 3, "mg/L", "2026-01-01T08:00:00Z")])
    headers = user.headers | {"Content-Type": "application/fhir+json"}
    assert (await client.post("/fhir", json=bundle, headers=headers)).status_code == 200
    key = ECKey.generate_key("P-384", parameters={"kid": "k"})
    jwks = KeySet([key]).as_dict(private=False)
    body = {"name": "feed", "user_id": user.user_id, "jwks": jwks, "scopes": ["system/*.rs"]}
    cid = (await client.post("/api/v1/integration-clients", json=body, headers=admin)).json()[
        "client_id"
    ]
    now = int(time.time())
    claims = {
        "iss": cid,
        "sub": cid,
        "aud": "http://test/api/v1/auth/client-token",
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
    }
    signed = jwt.encode({"alg": "ES384", "kid": "k"}, claims, key, algorithms=["ES384"])
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        "scope": "system/*.rs",
    }
    assert (await client.post("/api/v1/auth/client-token", data=form)).status_code == 200


async def test_the_fhir_migration_downgrades_and_upgrades_again():
    async with IsolatedApp() as iso:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        await _fill(iso.client, admin)
        cfg = alembic_config()
        engine = create_async_engine(iso.url)

        def run(action: str, target: str):  # type: ignore[no-untyped-def]
            def go(connection):  # type: ignore[no-untyped-def]
                cfg.attributes["connection"] = connection
                getattr(command, action)(cfg, target)

            return go

        try:
            async with engine.begin() as conn:
                await conn.run_sync(run("downgrade", "0010"))  # 0009's parent (head: 0008)
            kinds = await iso.db.fetch("SELECT DISTINCT kind FROM api_tokens")
            assert {k["kind"] for k in kinds} <= {"api", "login", "bootstrap"}
            former = await iso.db.fetchrow(
                "SELECT kind, revoked_at FROM api_tokens WHERE name = 'client credentials: feed'"
            )
            assert former["kind"] == "api"
            assert former["revoked_at"] is not None  # the client token died with its kind
            gone = await iso.db.fetchval(
                "SELECT count(*) FROM information_schema.columns WHERE column_name IN"
                " ('mrn_hmac', 'mrn_system', 'fhir_identifier_system', 'scopes')"
            )
            assert gone == 0
            assert await iso.db.fetchval("SELECT to_regclass('integration_clients')") is None
            async with engine.begin() as conn:
                await conn.run_sync(run("upgrade", "head"))
        finally:
            await engine.dispose()
        verdict = await iso.client.get("/api/v1/audit/verify", headers=admin)
        assert verdict.json()["valid"] is True, verdict.text
        r = await iso.client.post(
            "/api/v1/sites", json={"code": "MG2", "name": "again"}, headers=admin
        )
        assert r.status_code == 201
