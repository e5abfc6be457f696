"""A fresh start with no DATABASE_URL reaches /ready; the committed OpenAPI has not drifted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx

from app.openapi_export import DEFAULT_PATH, render
from tests.conftest import ROOT, free_port


def test_service_starts_on_embedded_postgresql(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEST_DATABASE_URL"}}
    env["DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and ready is None:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
                if r.status_code == 200:
                    ready = r.json()
            except httpx.HTTPError:
                time.sleep(0.2)
        assert ready == {"status": "ready", "database": "ok", "migrations": "head"}
        assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()
    finally:
        proc.send_signal(15)  # uvicorn alone: the app must stop its embedded server itself
        proc.wait(30)
    assert proc.returncode in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
    pidfile = tmp_path / "data" / "pg" / "postmaster.pid"
    deadline = time.monotonic() + 15
    while pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pidfile.exists(), "the embedded PostgreSQL was left running"


def test_committed_openapi_matches_the_app():
    committed = DEFAULT_PATH.read_text()
    assert committed == render(), "openapi/openapi.json drifted: run `make openapi` and commit"


TOKEN_ENDPOINTS = ("/api/v1/auth/token", "/api/v1/auth/client-token")


def test_every_operation_documents_problem_responses():
    spec = json.loads(DEFAULT_PATH.read_text())
    for path, item in spec["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert "422" in codes, (method, path)
            assert "500" in codes, (method, path)
            # the token endpoints take no bearer token: they issue them (OAuth errors are 400)
            if path.startswith("/api/v1/") and path not in TOKEN_ENDPOINTS:
                assert "401" in codes, (method, path)
