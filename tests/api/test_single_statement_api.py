"""Single-statement operations run without BEGIN/COMMIT (app/single_statement.py), yet their
writes are as attributable as any other: the audit row of an enrolment names its actor, role,
site and request id on every path (no key, an Idempotency-Key, an MRN through the ORM)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from app.main import create_app
from app.middleware import RequestContextMiddleware
from app.routers import ROUTERS
from app.settings import Settings
from app.single_statement import SingleStatementRoutes
from tests.conftest import unique
from tests.helpers import Actor, make_actor

APP_ROLE = "trial_app"


def _enrolment(actor: Actor, *, mrn: str | None = None) -> dict[str, str]:
    body = {"site_code": str(actor.site_code), "date_of_birth": "1971-03-04", "sex": "female"}
    if mrn is not None:
        body["mrn"] = mrn
    return body


@pytest.fixture(scope="module")
async def investigator(client, admin_headers) -> Actor:  # type: ignore[no-untyped-def]
    """At a site that records MRNs (the enrolment with an MRN goes through the ORM)."""
    code = unique("SS")[:10]
    site = {"code": code, "name": f"Site {code}", "mrn_system": "urn:oid:1.2.3.4.6"}
    r = await client.post("/api/v1/sites", json=site, headers=admin_headers)
    assert r.status_code == 201, r.text
    return await make_actor(client, admin_headers, "investigator", code)


@pytest.mark.parametrize("path", ["no key", "idempotency key", "mrn"])
async def test_an_enrolment_audit_row_names_its_actor_and_request(client, investigator, db, path):
    request_id = f"single-{uuid.uuid4().hex[:12]}"
    headers = {**investigator.headers, "X-Request-ID": request_id}
    if path == "idempotency key":
        headers["Idempotency-Key"] = uuid.uuid4().hex
    mrn = "S-" + uuid.uuid4().hex[:8] if path == "mrn" else None
    r = await client.post(
        "/api/v1/participants", json=_enrolment(investigator, mrn=mrn), headers=headers
    )
    assert r.status_code == 201, r.text
    row = await db.fetchrow(
        "SELECT actor_user_id, actor_role, actor_site, request_id, db_user FROM audit_log"
        " WHERE table_name = 'participants' AND record_id = $1 AND action = 'INSERT'",
        r.json()["id"],
    )
    assert dict(row) == {
        "actor_user_id": investigator.user_id,
        "actor_role": "investigator",
        "actor_site": investigator.site_code,
        "request_id": request_id,
        "db_user": APP_ROLE,
    }


async def test_the_service_connects_in_the_app_role(app):
    """Between transactions too: the role is a startup parameter of every connection."""
    async with app.state.engine.connect() as conn:
        assert (await conn.exec_driver_sql("SELECT current_user")).scalar() == APP_ROLE


def test_the_single_statement_operations_are_the_participant_read_list_and_enrolment():
    routes = SingleStatementRoutes(ROUTERS)
    uid = str(uuid.uuid4())
    assert len(routes) == 3
    for method, path in [
        ("GET", f"/api/v1/participants/{uid}"),
        ("GET", "/api/v1/participants"),
        ("POST", "/api/v1/participants"),
    ]:
        assert routes.matches({"method": method, "path": path}), (method, path)
    for method, path in [
        ("PATCH", f"/api/v1/participants/{uid}"),
        ("POST", f"/api/v1/participants/{uid}/screening"),
        ("GET", f"/api/v1/participants/{uid}/screening"),
        ("GET", "/api/v1/screenings"),
    ]:
        assert not routes.matches({"method": method, "path": path}), (method, path)


def test_behind_pgbouncer_every_request_has_its_transaction():
    settings = Settings(database_url="postgresql+asyncpg://x@localhost/x", db_pgbouncer=True)
    middleware = RequestContextMiddleware(
        create_app(settings), engine=lambda: None, settings=settings, routers=ROUTERS
    )  # type: ignore[arg-type]
    assert len(middleware.single_statement) == 0


STUDY_LOCK_KEY = (724501, 0)  # held exclusively by a study lock (migration 0013)


async def test_a_timed_out_enrolment_does_not_claim_it_was_rolled_back(settings, investigator, db):
    """Without a transaction of its own an enrolment may commit while it is being cancelled,
    so its timeout must not promise a rollback (with a key it runs in a transaction)."""
    impatient = create_app(settings.model_copy(update={"request_timeout_seconds": 1.0}))
    async with impatient.router.lifespan_context(impatient):
        transport = httpx.ASGITransport(app=impatient)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            async with db.transaction():  # the enrolment's lock guard waits for this key
                await db.execute("SELECT pg_advisory_xact_lock($1, $2)", *STUDY_LOCK_KEY)
                r = await c.post(
                    "/api/v1/participants",
                    json=_enrolment(investigator),
                    headers=investigator.headers,
                )
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"]
            detail = r.json()["detail"]
            assert "rolled back" not in detail
            assert "may have been recorded" in detail
            again = await c.post(
                "/api/v1/participants", json=_enrolment(investigator), headers=investigator.headers
            )
            assert again.status_code == 201, again.text
