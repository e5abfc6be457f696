#!/usr/bin/env python3
"""Offline re-derivation of an allocation list (standard library only, no project code).

    python3 tools/verify_allocation_list.py SEED COMMITMENT [--block-sizes 2 4 6] [--size 20]

Implements algorithm `aclf-permuted-blocks/hmac-sha256-ctr/v1` as documented in
docs/randomization.md, prints the list and whether its SHA-256 matches COMMITMENT.
Exit status 0 when it matches, 1 when it does not.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys

ALGORITHM = "aclf-permuted-blocks/hmac-sha256-ctr/v1"


class Stream:
    def __init__(self, seed: str) -> None:
        self.key = seed.encode("utf-8")
        self.counter = 0

    def draw(self) -> int:
        digest = hmac.new(self.key, self.counter.to_bytes(8, "big"), hashlib.sha256).digest()
        self.counter += 1
        return int.from_bytes(digest[:8], "big")

    def uniform(self, n: int) -> int:
        limit = 2**64 - (2**64 % n)
        while True:
            u = self.draw()
            if u < limit:
                return u % n


def reachable(sizes: list[int], total: int) -> list[bool]:
    ok = [True] + [False] * total
    for t in range(1, total + 1):
        ok[t] = any(s <= t and ok[t - s] for s in sizes)
    return ok


def derive(seed: str, block_sizes: list[int], size: int) -> list[list[object]]:
    sizes = sorted(set(block_sizes))
    ok = reachable(sizes, size)
    stream, slots, remaining, block = Stream(seed), [], size, 1
    while remaining > 0:
        candidates = [s for s in sizes if s <= remaining and ok[remaining - s]]
        s = candidates[stream.uniform(len(candidates))]
        arms = ["control"] * (s // 2) + ["exosome"] * (s // 2)
        for i in range(s - 1, 0, -1):
            j = stream.uniform(i + 1)
            arms[i], arms[j] = arms[j], arms[i]
        for arm in arms:
            slots.append([len(slots) + 1, block, s, arm])
        remaining -= s
        block += 1
    return slots


def commitment(seed: str, block_sizes: list[int], slots: list[list[object]]) -> str:
    document = {
        "algorithm": ALGORITHM,
        "block_sizes": sorted(set(block_sizes)),
        "seed": seed,
        "slots": slots,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("seed")
    parser.add_argument("commitment")
    parser.add_argument("--block-sizes", type=int, nargs="+", default=[2, 4, 6])
    parser.add_argument("--size", type=int, default=20)
    args = parser.parse_args()
    slots = derive(args.seed, args.block_sizes, args.size)
    for seq, block, block_size, arm in slots:
        print(f"{seq:3d}  block {block:2d} (size {block_size})  {arm}")  # noqa: T201
    digest = commitment(args.seed, args.block_sizes, slots)
    matches = digest == args.commitment.strip().lower()
    print(f"recomputed {digest}\nmatches    {matches}")  # noqa: T201
    return 0 if matches else 1


if __name__ == "__main__":
    sys.exit(main())
