"""The statistician's offline verifier (written from the docs) agrees with the service."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from app.domain.randomization import commitment_sha256, generate_allocation_list

PATH = Path(__file__).resolve().parents[2] / "tools" / "verify_allocation_list.py"
spec = importlib.util.spec_from_file_location("verify_allocation_list", PATH)
assert spec is not None
assert spec.loader is not None
verifier = importlib.util.module_from_spec(spec)
spec.loader.exec_module(verifier)


@pytest.mark.parametrize(
    ("seed", "sizes"), [("golden-seed-1", [2, 4]), ("a" * 64, [4, 2]), ("种子", [2, 4, 6])]
)
def test_offline_verifier_matches_the_service(seed, sizes):
    service = generate_allocation_list(seed, sizes, 20)
    slots = verifier.derive(seed, sizes, 20)
    assert [tuple(s) for s in slots] == [
        (s.sequence_number, s.block_number, s.block_size, s.arm) for s in service.slots
    ]
    assert verifier.commitment(seed, sizes, slots) == commitment_sha256(service)
