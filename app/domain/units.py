"""Laboratory quantities with explicit UCUM units, converted to one canonical unit at the edge.

A unit is never guessed (SPEC §3.1): a value whose unit is not listed for its lab key is
refused. Converted values are rounded to `protocol.CANONICAL_DECIMALS` places with
ROUND_HALF_EVEN, in `Decimal`, so a conversion can never push a value across a score or
eligibility boundary (3.0 mg/dL bilirubin is exactly 51.3 umol/L here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal

from app.domain import protocol
from app.domain.errors import FieldError, InvalidData

# Wide enough that quantizing any accepted value (< _MAX_VALUE) never overflows.
_CTX = Context(prec=50, rounding=ROUND_HALF_EVEN)
_QUANTUM = Decimal(1).scaleb(-protocol.CANONICAL_DECIMALS)
# No laboratory result comes near this; it only keeps Decimal arithmetic bounded.
_MAX_VALUE = Decimal("1e15")


@dataclass(frozen=True, slots=True)
class Conversion:
    """canonical = entered x multiply / divide (a divisor keeps `urea mg/dL / 6.006` exact)."""

    multiply: Decimal = Decimal(1)
    divide: Decimal = Decimal(1)

    def apply(self, value: Decimal) -> Decimal:
        return _CTX.divide(_CTX.multiply(value, self.multiply), self.divide)


@dataclass(frozen=True, slots=True)
class LabSpec:
    """The canonical unit of one lab key and the units accepted for it."""

    canonical_unit: str
    accepted: Mapping[str, Conversion]


_SAME = Conversion()

# The conversion factors of SPEC §3.4 (canonical per entered unit).
TBIL_UMOL_L_PER_MG_DL = Decimal("17.1")
ALBUMIN_G_L_PER_G_DL = Decimal("10")
CREATININE_UMOL_L_PER_MG_DL = Decimal("88.4")
UREA_MG_DL_PER_MMOL_L = Decimal("6.006")
UREA_MMOL_L_PER_BUN_MG_DL = Decimal("0.357")

LAB_UNITS: dict[str, LabSpec] = {
    "inr": LabSpec("1", {"1": _SAME}),
    "pta": LabSpec("%", {"%": _SAME}),
    "total_bilirubin": LabSpec(
        "umol/L", {"umol/L": _SAME, "mg/dL": Conversion(multiply=TBIL_UMOL_L_PER_MG_DL)}
    ),
    "albumin": LabSpec("g/L", {"g/L": _SAME, "g/dL": Conversion(multiply=ALBUMIN_G_L_PER_G_DL)}),
    "creatinine": LabSpec(
        "umol/L", {"umol/L": _SAME, "mg/dL": Conversion(multiply=CREATININE_UMOL_L_PER_MG_DL)}
    ),
    "urea": LabSpec("mmol/L", {"mmol/L": _SAME, "mg/dL": Conversion(divide=UREA_MG_DL_PER_MMOL_L)}),
    # BUN is kept under its own key, but its canonical value is urea in mmol/L.
    "urea_nitrogen": LabSpec("mmol/L", {"mg/dL": Conversion(multiply=UREA_MMOL_L_PER_BUN_MG_DL)}),
    "neutrophils": LabSpec("10*9/L", {"10*9/L": _SAME}),
    "sodium": LabSpec("mmol/L", {"mmol/L": _SAME}),
    "alt": LabSpec("U/L", {"U/L": _SAME}),
    "ast": LabSpec("U/L", {"U/L": _SAME}),
}
LAB_KEYS: tuple[str, ...] = tuple(LAB_UNITS)

# INR is dimensionless: a missing or empty unit means UCUM "1".
_UNITLESS_KEYS = frozenset({"inr"})


@dataclass(frozen=True, slots=True)
class Quantity:
    """A value as entered, with its UCUM unit code."""

    value: Decimal
    unit: str


@dataclass(frozen=True, slots=True)
class CanonicalLab:
    """One lab value: as entered, and in the canonical unit used by every rule and score.

    `derived_from` names the entered key when this entry was computed from another one
    (canonical `urea` from `urea_nitrogen`); it is None for a value entered under `key`.
    """

    key: str
    entered: Quantity
    value: Decimal
    unit: str
    derived_from: str | None = None


def canonicalize_labs(
    labs: Mapping[str, Quantity], field_prefix: str = "labs"
) -> dict[str, CanonicalLab]:
    """Convert every lab to its canonical unit, or refuse naming every bad field at once.

    `urea_nitrogen` (BUN) is kept under its own key and also yields canonical `urea` when
    `urea` itself was not entered; when both are entered, the measured `urea` wins.
    """
    errors: list[FieldError] = []
    result: dict[str, CanonicalLab] = {}
    for key, quantity in labs.items():
        field = f"{field_prefix}.{key}"
        lab = _canonicalize_one(key, quantity, field, errors)
        if lab is not None:
            result[key] = lab
    if errors:
        raise InvalidData(errors)
    _derive_urea(result)
    return result


def _canonicalize_one(
    key: str, quantity: Quantity, field: str, errors: list[FieldError]
) -> CanonicalLab | None:
    """One lab, appending its problems to `errors` (all of them, not only the first)."""
    spec = LAB_UNITS.get(key)
    if spec is None:
        errors.append(FieldError(field, f"unknown lab; accepted: {', '.join(LAB_KEYS)}"))
        return None
    unit = _effective_unit(key, quantity.unit)
    conversion = spec.accepted.get(unit)
    if conversion is None:
        accepted = ", ".join(spec.accepted)
        errors.append(FieldError(f"{field}.unit", f"unknown unit {unit!r}; accepted: {accepted}"))
    value_error = _value_problem(quantity.value)
    if value_error is not None:
        errors.append(FieldError(f"{field}.value", value_error))
    if conversion is None or value_error is not None:
        return None
    entered = Quantity(quantity.value, unit)
    return CanonicalLab(key, entered, _round(conversion.apply(quantity.value)), spec.canonical_unit)


def _effective_unit(key: str, unit: str | None) -> str:
    """The unit as entered; INR without a unit is UCUM "1" (dimensionless)."""
    if key in _UNITLESS_KEYS and not unit:
        return "1"
    return unit or ""


def _value_problem(value: Decimal) -> str | None:
    """Why a lab value cannot be a measurement, or None when it can."""
    if not value.is_finite():
        return "must be a finite number"
    if value < 0:
        return "must not be negative"
    if value >= _MAX_VALUE:
        return "is implausibly large"
    return None


def _round(value: Decimal) -> Decimal:
    """Round to the stated canonical precision (half-even); -0 becomes 0."""
    rounded = value.quantize(_QUANTUM, context=_CTX)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def _derive_urea(labs: dict[str, CanonicalLab]) -> None:
    """Add canonical `urea` from BUN when urea itself was not entered."""
    bun = labs.get("urea_nitrogen")
    if bun is None or "urea" in labs:
        return
    labs["urea"] = CanonicalLab("urea", bun.entered, bun.value, bun.unit, derived_from=bun.key)
