"""Contract fuzzing: schemathesis against the committed OpenAPI document, as several roles.

Runs the real server (two uvicorn workers) and checks that no generated request, valid or
not, gets a 5xx, and that every response conforms to the documented schema. Bounded so the
suite stays fast: CONTRACT_EXAMPLES examples per operation and role (default 3), as the roles
in CONTRACT_ROLES (default admin, investigator and statistician: between them they reach every
handler - the site writer, the global reader, the administrator; a role refused by a route
gets its 403 before any handler code runs, and tests/api/test_role_matrix_api.py checks every
role against every route). The boundary-value (coverage) phase runs once, as
CONTRACT_BOUNDARY_ROLE (investigator). `CONTRACT_ROLES=all CONTRACT_EXAMPLES=20` for a deeper
run.
"""

from __future__ import annotations

import os
import uuid

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.auth import ROLES, SITE_BOUND_ROLES
from app.openapi_export import DEFAULT_PATH
from tests.conftest import ADMIN_TOKEN

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "3"))
_ROLES = os.environ.get("CONTRACT_ROLES", "admin,investigator,statistician")
FUZZ_ROLES = ROLES if _ROLES == "all" else tuple(r for r in ROLES if r in _ROLES.split(","))
# Logout revokes the calling token: fuzzing it would revoke the tokens this test (and the
# bootstrap admin token the later tests) depend on. tests/api/test_role_matrix_api.py covers it.
# Locking the study would refuse every clinical write of the tests that follow in this
# database: tests/api/test_study_lock_api.py covers it, in a database of its own.
schema = (
    schemathesis.openapi.from_path(DEFAULT_PATH)
    .exclude(path="/api/v1/auth/logout")
    .exclude(method="POST", path="/api/v1/study/lock")
)
# The coverage phase (boundary values: huge integers, NUL characters, empty strings, ... per
# field) is the costly one (~40 s per role here): it runs once, as the site writer, whose
# routes hold most of the input handling; the examples and fuzzing phases run as every role.
schema.config.phases.coverage.enabled = False
boundaries = (
    schemathesis.openapi.from_path(DEFAULT_PATH)
    .exclude(path="/api/v1/auth/logout")
    .exclude(method="POST", path="/api/v1/study/lock")
)
boundaries.config.phases.examples.enabled = False
boundaries.config.phases.fuzzing.enabled = False
BOUNDARY_ROLE = os.environ.get("CONTRACT_BOUNDARY_ROLE", "investigator")


@pytest.fixture(scope="module")
def role_headers(server) -> dict[str, dict[str, str]]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=admin, timeout=30) as http:
        code = "C" + uuid.uuid4().hex[:6].upper()
        assert http.post("/api/v1/sites", json={"code": code, "name": "contract"}).is_success
        headers = {"admin": admin}
        for role in ROLES:
            if role == "admin":
                continue
            user = http.post(
                "/api/v1/users",
                json={
                    "username": f"contract-{role}-{uuid.uuid4().hex[:6]}",
                    "role": role,
                    "site_code": code if role in SITE_BOUND_ROLES else None,
                },
            ).json()
            token = http.post(f"/api/v1/users/{user['id']}/tokens", json={}).json()["token"]
            headers[role] = {"Authorization": f"Bearer {token}"}
    return headers


@pytest.mark.parametrize("role", FUZZ_ROLES)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_contract(case, role, server, role_headers):
    case.call_and_validate(
        base_url=server.url,
        headers=role_headers[role],
        checks=[not_a_server_error, response_schema_conformance],
        timeout=30,
    )


@boundaries.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_contract_boundaries(case, server, role_headers):
    case.call_and_validate(
        base_url=server.url,
        headers=role_headers[BOUNDARY_ROLE],
        checks=[not_a_server_error, response_schema_conformance],
        timeout=30,
    )
