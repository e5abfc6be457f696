"""The predictability benchmark's observer is exact (checked against brute force)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "allocation_predictability.py"
spec = importlib.util.spec_from_file_location("allocation_predictability", PATH)
assert spec is not None
assert spec.loader is not None
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # (its dataclass needs the module registered)
spec.loader.exec_module(bench)


def _distribution(sizes: list[int], total: int) -> dict[tuple[str, ...], Fraction]:
    """Every list the generator can make, with its probability, by enumeration."""
    ok = bench._completable(sizes, total)
    lists: dict[tuple[str, ...], Fraction] = defaultdict(Fraction)

    def blocks(remaining: int, weight: Fraction, plan: list[int]) -> None:
        if remaining == 0:
            options = []
            for s in plan:
                half = ["control"] * (s // 2) + ["exosome"] * (s // 2)
                options.append(sorted(set(itertools.permutations(half))))
            for combo in itertools.product(*options):
                p = weight  # each block's distinct arrangements are equally likely
                for arrangement in options:
                    p /= len(arrangement)
                lists[tuple(a for block in combo for a in block)] += p
            return
        candidates = [s for s in sizes if s <= remaining and ok[remaining - s]]
        for s in candidates:
            blocks(remaining - s, weight / len(candidates), [*plan, s])

    blocks(total, Fraction(1), [])
    return lists


@pytest.mark.parametrize(("sizes", "total"), [([2, 4], 8), ([2, 4, 6], 10), ([4], 8)])
def test_the_observer_matches_brute_force(sizes: list[int], total: int) -> None:
    lists = _distribution(sizes, total)
    assert sum(lists.values()) == 1
    for arms in list(lists)[:40]:
        observer = bench.Observer(sizes, total)
        for n, arm in enumerate(arms):
            prefix = arms[:n]
            consistent = {a: p for a, p in lists.items() if a[:n] == prefix}
            expected = sum(p for a, p in consistent.items() if a[n] == "exosome") / sum(
                consistent.values()
            )
            assert observer.p_exosome() == expected, (arms, n)
            observer.observe(arm)


def test_blocks_of_two_make_every_second_arm_certain() -> None:
    figures = bench.measure([2], n_seeds=50)
    assert figures.certain == 50 * 10
    assert figures.right >= figures.certain


def test_the_reviews_figure_for_blocks_of_2_and_4() -> None:
    """The review found 72% right and 15% certain for {2, 4} (2,000 seeds); so does this."""
    figures = bench.measure([2, 4], n_seeds=300)
    assert 0.69 < figures.right_share < 0.75
    assert 0.13 < figures.certain_share < 0.17
