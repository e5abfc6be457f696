"""The typed client, generated from the committed contract by openapi-python-client (SPEC
§9.1): into a temporary folder for this run, never edited, never committed."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from app.openapi_export import DEFAULT_PATH

CONFIG = DEFAULT_PATH.parent / "client-config.yaml"


@pytest.fixture(scope="session")
def trial_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("generated")
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(DEFAULT_PATH),
            "--config",
            str(CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(out / "trial_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Cannot parse" not in done.stdout, done.stdout  # every response is in the client
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("trial_client")
    finally:
        sys.path.remove(str(out))
