"""Allocation list generation: permuted blocks of random size, reproducible from a seed.

Algorithm `aclf-permuted-blocks/hmac-sha256-ctr/v1` (SPEC §2.3). Inputs: `seed` (a text),
`block_sizes` (the allowed block sizes, positive even integers) and `size` (the list length,
the enrollment target, 20). Everything below is integer arithmetic, so any language with
HMAC-SHA256 reproduces the list bit for bit.

1. Validation. `seed` is a non-empty string that encodes as UTF-8. Every block size is a
   positive even integer; duplicates are dropped and the set is sorted ascending, giving
   `S = [s_1 < s_2 < ...]`. `size` is a positive even integer that is a sum of elements of
   `S` (repetition allowed). Otherwise `InvalidData` (422) names the field: `seed`,
   `block_sizes` (also when no combination of sizes sums to `size`) or `size`.
2. Random stream. `key` = the seed's UTF-8 bytes. The i-th draw (i = 0, 1, 2, ... counted
   across the whole generation, never reset) is
   `u_i = int.from_bytes(HMAC-SHA256(key, i as 8-byte big-endian)[0:8], "big")`, an
   unsigned 64-bit integer.
3. Uniform integer in [0, n). `limit = 2**64 - (2**64 mod n)`. Take the next draw `u`; if
   `u < limit` the result is `u mod n`, otherwise discard `u` and take the next draw (rejection
   sampling: no modulo bias). A call with n = 1 still consumes at least one draw.
4. Blocks. `remaining = size`; block number `b = 1`. While `remaining > 0`: the candidates are
   the sizes `s` in `S` (ascending) with `s <= remaining` such that `remaining - s` is 0 or a
   sum of elements of `S`; pick `s = candidates[uniform(len(candidates))]`, even when only one
   candidate is left. Then fill the block (step 5), `remaining -= s`, `b += 1`.
5. Within a block of size `s = 2k`: start from `["control"] * k + ["exosome"] * k` and
   Fisher-Yates shuffle it (Durstenfeld form): for `i` from `s - 1` down to 1,
   `j = uniform(i + 1)`, swap positions `i` and `j`.
6. Slots. The blocks are concatenated in order; the slot at list position p (1-based) is
   `(sequence_number = p, block_number = b, block_size = s, arm)`.

Canonical serialization and commitment. The canonical bytes are the UTF-8 encoding of the
JSON object `{"algorithm": ALGORITHM_ID, "block_sizes": S, "seed": seed, "slots": [[sequence_number,
block_number, block_size, arm], ...]}` with keys sorted, no whitespace (separators "," and
":"), non-ASCII characters written as themselves (not \\u escapes), and Python's standard
string escaping (`"`, `\\`, \\b \\f \\n \\r \\t, other control characters as lowercase \\u00xx).
For this document that is exactly RFC 8785 (JCS). The commitment is the lowercase hex SHA-256
of those bytes.

The seed IS inside the commitment, deliberately. With blocks of 2 and 4 there are only
285,856 possible lists of 20 (f(n) = 2 f(n-2) + 6 f(n-4)), so a hash of the slots alone could
be inverted by enumeration in a second and would unblind the trial to anyone who saw it. The
seed acts as the commitment's secret nonce: the hash can be published at creation while the
seed stays with the statistician, and once the seed is revealed anyone can regenerate the list
and check the hash. This needs a high-entropy seed (the service should draw 32 random bytes);
a guessable seed makes the commitment, and the list, guessable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from app.domain import protocol
from app.domain.errors import FieldError, InvalidData

ALGORITHM_ID = "aclf-permuted-blocks/hmac-sha256-ctr/v1"
CONTROL, EXOSOME = protocol.ARMS
_WORD_BYTES = 8
_WORD_SPACE = 2 ** (8 * _WORD_BYTES)


@dataclass(frozen=True, slots=True)
class Slot:
    """One position of the list: the arm the participant randomized at it receives."""

    sequence_number: int
    block_number: int
    block_size: int
    arm: str


@dataclass(frozen=True, slots=True)
class AllocationList:
    """A generated list with what is needed to regenerate it (seed, allowed block sizes)."""

    seed: str
    block_sizes: tuple[int, ...]
    slots: tuple[Slot, ...]

    @property
    def size(self) -> int:
        return len(self.slots)


class _Stream:
    """The HMAC-SHA256 counter stream of steps 2 and 3 of the module docstring."""

    def __init__(self, seed: str) -> None:
        self._key = seed.encode("utf-8")
        self._counter = 0

    def next_word(self) -> int:
        """Next unsigned 64-bit draw; the counter is never reset."""
        message = self._counter.to_bytes(_WORD_BYTES, "big")
        self._counter += 1
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return int.from_bytes(digest[:_WORD_BYTES], "big")

    def uniform(self, n: int) -> int:
        """Unbiased integer in [0, n) by rejection sampling."""
        limit = _WORD_SPACE - (_WORD_SPACE % n)
        while True:
            word = self.next_word()
            if word < limit:
                return word % n


def _validate_seed(seed: str) -> list[FieldError]:
    if not seed:
        return [FieldError("seed", "must be a non-empty string")]
    try:
        seed.encode("utf-8")
    except UnicodeEncodeError:
        return [FieldError("seed", "must be valid Unicode text (UTF-8 encodable)")]
    return []


def _validate_block_sizes(block_sizes: Sequence[int]) -> list[FieldError]:
    if not block_sizes:
        return [FieldError("block_sizes", "must list at least one block size")]
    bad = [b for b in block_sizes if isinstance(b, bool) or b <= 0 or b % 2 != 0]
    if bad:
        return [FieldError("block_sizes", f"block sizes must be positive even integers: {bad}")]
    return []


def _validate_size(size: int) -> list[FieldError]:
    if isinstance(size, bool) or size <= 0 or size % 2 != 0:
        return [FieldError("size", f"the list size must be a positive even integer, got {size}")]
    return []


def _reachable_sums(sizes: Sequence[int], total: int) -> list[bool]:
    """reachable[n] is True when n (0..total) is a sum of the sizes, repetition allowed."""
    reachable = [False] * (total + 1)
    reachable[0] = True
    for n in range(1, total + 1):
        reachable[n] = any(s <= n and reachable[n - s] for s in sizes)
    return reachable


def _normalized_sizes(seed: str, block_sizes: Sequence[int], size: int) -> tuple[int, ...]:
    """Validate the inputs (step 1) and return the sorted, de-duplicated sizes."""
    errors = _validate_seed(seed) + _validate_block_sizes(block_sizes) + _validate_size(size)
    if errors:
        raise InvalidData(errors)
    sizes = tuple(sorted(set(block_sizes)))
    if not _reachable_sums(sizes, size)[size]:
        raise InvalidData.one(
            "block_sizes", f"no combination of block sizes {list(sizes)} sums to {size}"
        )
    return sizes


def _block_plan(stream: _Stream, sizes: tuple[int, ...], size: int) -> Iterator[int]:
    """Yield block sizes chosen uniformly among those that keep the total completable."""
    reachable = _reachable_sums(sizes, size)
    remaining = size
    while remaining > 0:
        candidates = [s for s in sizes if s <= remaining and reachable[remaining - s]]
        chosen = candidates[stream.uniform(len(candidates))]
        remaining -= chosen
        yield chosen


def _shuffled_block(stream: _Stream, block_size: int) -> list[str]:
    """Half control, half exosome, in a Fisher-Yates (Durstenfeld) random order."""
    half = block_size // 2
    arms = [CONTROL] * half + [EXOSOME] * half
    for i in range(block_size - 1, 0, -1):
        j = stream.uniform(i + 1)
        arms[i], arms[j] = arms[j], arms[i]
    return arms


def _slots(stream: _Stream, sizes: tuple[int, ...], size: int) -> Iterable[Slot]:
    sequence_number = 0
    for block_number, block_size in enumerate(_block_plan(stream, sizes, size), start=1):
        for arm in _shuffled_block(stream, block_size):
            sequence_number += 1
            yield Slot(sequence_number, block_number, block_size, arm)


def generate_allocation_list(
    seed: str,
    block_sizes: Sequence[int] = protocol.DEFAULT_BLOCK_SIZES,
    size: int = protocol.ENROLLMENT_TARGET,
) -> AllocationList:
    """Generate the list the module docstring specifies; the same inputs give the same list."""
    sizes = _normalized_sizes(seed, block_sizes, size)
    slots = tuple(_slots(_Stream(seed), sizes, size))
    return AllocationList(seed=seed, block_sizes=sizes, slots=slots)


def canonical_serialization(lst: AllocationList) -> bytes:
    """The exact bytes the commitment hashes (see the module docstring)."""
    document = {
        "algorithm": ALGORITHM_ID,
        "block_sizes": list(lst.block_sizes),
        "seed": lst.seed,
        "slots": [[s.sequence_number, s.block_number, s.block_size, s.arm] for s in lst.slots],
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def commitment_sha256(lst: AllocationList) -> str:
    """Lowercase hex SHA-256 of the canonical serialization."""
    return hashlib.sha256(canonical_serialization(lst)).hexdigest()


def verify_allocation_list(
    seed: str, block_sizes: Sequence[int], size: int, expected_commitment: str
) -> bool:
    """True when regenerating from the seed reproduces the recorded commitment.

    Inputs that cannot generate any list cannot match a commitment: False, not an error.
    """
    try:
        regenerated = generate_allocation_list(seed, block_sizes, size)
    except InvalidData:
        return False
    expected = expected_commitment.strip().lower()
    if not expected.isascii():
        return False
    return hmac.compare_digest(commitment_sha256(regenerated), expected)
