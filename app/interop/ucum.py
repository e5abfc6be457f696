"""UCUM units by meaning, through `ucumvert` (pint underneath): the domain's `UnitConverter`.

Behaviour relied on (ucumvert 0.3.x, checked by tests/unit/test_ucum.py):
- `PintUcumRegistry()` takes 0.4-2 s: it is built once per process, on first use; the app
  builds it at start (`warm_up`, from the lifespan) so that no request pays for it.
- `from_ucum` parses case-sensitive UCUM; a string that is not UCUM raises (`InvalidUcumError`,
  or a lark error for a valid code pint does not define, such as `[pH]`): refused as not UCUM.
- An annotation alone (`{INR}`) comes back as a plain string: UCUM defines it as unity, "1".
- A conversion between dimensions raises pint's `DimensionalityError`.
- Magnitudes are floats (`5 pg/mL` -> `4.999999999999999 ng/L`): each factor is rounded to
  `FACTOR_SIGNIFICANT_DIGITS` significant digits as a `Decimal`, and cached per unit pair.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import cache, lru_cache
from typing import Any, NamedTuple

from app.domain.units import FACTOR_SIGNIFICANT_DIGITS, NotCommensurable, NotUcum

_FACTOR_CTX = Context(prec=FACTOR_SIGNIFICANT_DIGITS, rounding=ROUND_HALF_EVEN)
_CACHE_SIZE = 4096  # unit pairs; bounded because units come from clients


class _Outcome(NamedTuple):
    """A cached answer: the factor, or why there is none (exceptions are not cached)."""

    factor: Decimal | None
    not_ucum: str | None = None


@cache
def _registry() -> Any:
    from ucumvert import PintUcumRegistry  # imported late: it costs start-up time

    return PintUcumRegistry()


@lru_cache(maxsize=_CACHE_SIZE)
def _parse(unit: str) -> Any:
    """A pint quantity of one `unit`, or None when it is not a UCUM unit we can read."""
    if not unit or not unit.isascii() or not unit.isprintable():
        return None
    registry = _registry()
    try:
        parsed = registry.from_ucum(unit)
    except Exception:  # ucumvert raises lark and pint errors of several kinds
        return None
    if isinstance(parsed, str):  # an annotation alone, e.g. {INR}: UCUM unity
        return registry.Quantity(1, "dimensionless")
    return parsed


@lru_cache(maxsize=_CACHE_SIZE)
def _outcome(from_unit: str, to_unit: str) -> _Outcome:
    source, target = _parse(from_unit), _parse(to_unit)
    for unit, parsed in ((from_unit, source), (to_unit, target)):
        if parsed is None:
            return _Outcome(None, not_ucum=unit)
    try:
        magnitude = source.to(target.units).magnitude / target.magnitude
    except Exception:  # pint's DimensionalityError, or offset units (Cel) in a ratio
        return _Outcome(None)
    return _Outcome(_FACTOR_CTX.plus(Decimal(repr(float(magnitude)))).normalize(_FACTOR_CTX))


def warm_up() -> None:
    """Build the registry and parse the analytes' canonical units now (the app's start)."""
    from app.domain.analytes import ANALYTES

    for analyte in ANALYTES.values():
        _parse(analyte.canonical_unit)


class UcumConverter:
    """The `app.domain.units.UnitConverter` backed by ucumvert."""

    def factor(self, from_unit: str, to_unit: str) -> Decimal:
        outcome = _outcome(from_unit, to_unit)
        if outcome.not_ucum is not None:
            raise NotUcum(outcome.not_ucum)
        if outcome.factor is None:
            raise NotCommensurable(from_unit, to_unit)
        return outcome.factor


UCUM = UcumConverter()
