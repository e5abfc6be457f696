"""docs/sdtm.md names every exported variable with its origin, as the mappers define it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from app.interop.cdisc.datasets import SUBJECT_DOMAINS

ROOT = Path(__file__).resolve().parents[2]


def _tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "sdtm_variables", ROOT / "tools" / "sdtm_variables.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_variable_tables_of_the_docs_are_the_mappers_own():
    tool = _tool()
    docs = (ROOT / "docs" / "sdtm.md").read_text(encoding="utf-8")
    block = docs.split(tool.START, 1)[1].split(tool.END, 1)[0]
    assert block.strip() == tool.render().strip(), "run: python3 tools/sdtm_variables.py --write"


def test_the_docs_cover_every_dataset():
    tool = _tool()
    documented = {name for name, _ in tool.DATASETS}
    built = {build.__module__.rsplit(".", 1)[1].upper() for build in SUBJECT_DOMAINS}
    assert built | {"TS", "TA", "TE", "TV", "TI", "SUPPAE"} == documented
