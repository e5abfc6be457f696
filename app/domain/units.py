"""Laboratory quantities with explicit UCUM units, converted to one canonical unit at the edge.

Units are compared by meaning, not spelling (SPEC §9.3): any UCUM unit commensurable with the
analyte's canonical unit (`analytes.ANALYTES`) is converted by a `UnitConverter` (a maintained
UCUM library behind `app.interop.ucum`; the domain stays pure). Between mass and amount of
substance the protocol's table (`protocol.MASS_TO_SUBSTANCE`) bridges with the SPEC §3.4
factors. A unit is never guessed (SPEC §3.1): a unit that is not UCUM, or not commensurable,
is refused naming `<prefix>.<analyte>.unit`; only INR may omit its unit (meaning "1").

Converted values are rounded to `protocol.CANONICAL_DECIMALS` places with ROUND_HALF_EVEN, in
`Decimal`, so a conversion never pushes a value across a score or eligibility boundary (3.0
mg/dL bilirubin is exactly 51.3 umol/L here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Protocol

from app.domain import protocol
from app.domain.analytes import ANALYTE_KEYS, ANALYTES
from app.domain.errors import FieldError, InvalidData

# Wide enough that quantizing any accepted value never overflows.
_CTX = Context(prec=50, rounding=ROUND_HALF_EVEN)
_QUANTUM = Decimal(1).scaleb(-protocol.CANONICAL_DECIMALS)
# No laboratory result comes near these; they only keep Decimal arithmetic bounded.
_MAX_VALUE = Decimal("1e15")
_MAX_CANONICAL_EXPONENT = 30

# A converter's factors are exact to this many significant digits (UCUM's own factors are
# exact decimals; the rounding removes binary floating-point noise: 5 pg/mL = 5 ng/L).
FACTOR_SIGNIFICANT_DIGITS = 12

# The lab keys SPEC §6 fixes for partner integrations (every analyte key is accepted).
LAB_KEYS: tuple[str, ...] = (
    "inr",
    "pta",
    "total_bilirubin",
    "albumin",
    "creatinine",
    "urea",
    "urea_nitrogen",
    "neutrophils",
    "sodium",
    "alt",
    "ast",
)


class UnitError(Exception):
    """A unit that cannot be converted; the subclass says why."""


class NotUcum(UnitError):
    def __init__(self, unit: str) -> None:
        super().__init__(f"{unit!r} is not a UCUM unit")
        self.unit = unit


class NotCommensurable(UnitError):
    def __init__(self, from_unit: str, to_unit: str) -> None:
        super().__init__(f"{from_unit!r} is not commensurable with {to_unit!r}")
        self.from_unit = from_unit
        self.to_unit = to_unit


class UnitConverter(Protocol):
    """Converts between UCUM units of one dimension (no molar masses)."""

    def factor(self, from_unit: str, to_unit: str) -> Decimal:
        """x `from_unit` = x * factor `to_unit`; raises `NotUcum` or `NotCommensurable`."""
        ...


@dataclass(frozen=True, slots=True)
class Conversion:
    """canonical = entered x multiply / divide (a divisor keeps `urea mg/dL / 6.006` exact)."""

    multiply: Decimal = Decimal(1)
    divide: Decimal = Decimal(1)

    def apply(self, value: Decimal) -> Decimal:
        return _CTX.divide(_CTX.multiply(value, self.multiply), self.divide)


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
    labs: Mapping[str, Quantity], converter: UnitConverter, field_prefix: str = "labs"
) -> dict[str, CanonicalLab]:
    """Convert every lab to its canonical unit, or refuse naming every bad field at once.

    `urea_nitrogen` (BUN) is kept under its own key and also yields canonical `urea` when
    `urea` itself was not entered; when both are entered, the measured `urea` wins.
    """
    errors: list[FieldError] = []
    result: dict[str, CanonicalLab] = {}
    for key, quantity in labs.items():
        field = f"{field_prefix}.{key}"
        if key not in ANALYTES:
            errors.append(
                FieldError(field, f"unknown analyte; accepted: {', '.join(ANALYTE_KEYS)}")
            )
            continue
        lab = _canonicalize_one(key, quantity, converter, field, errors)
        if lab is not None:
            result[key] = lab
    if errors:
        raise InvalidData(errors)
    _derive_urea(result, converter)
    return result


def canonical_lab(
    key: str, quantity: Quantity, converter: UnitConverter, field: str = ""
) -> CanonicalLab:
    """One analyte's value in its canonical unit; refuses naming `<field>.value`/`.unit`.

    With no `field` the names are `value` and `unit` (a lab result's own body); an unknown
    analyte is named `analyte`.
    """
    if key not in ANALYTES:
        message = f"unknown analyte; accepted: {', '.join(ANALYTE_KEYS)}"
        raise InvalidData.one(field or "analyte", message)
    errors: list[FieldError] = []
    lab = _canonicalize_one(key, quantity, converter, field, errors)
    if lab is None:
        raise InvalidData(errors)
    return lab


def _canonicalize_one(
    key: str, quantity: Quantity, converter: UnitConverter, field: str, errors: list[FieldError]
) -> CanonicalLab | None:
    """One lab, appending its problems to `errors` (all of them, not only the first)."""
    unit = _effective_unit(key, quantity.unit)
    conversion: Conversion | None = None
    try:
        conversion = conversion_to_canonical(key, unit, converter)
    except UnitError as exc:
        errors.append(FieldError(_join(field, "unit"), _unit_message(key, unit, exc)))
    value_error = _value_problem(quantity.value)
    if value_error is None and conversion is not None:
        canonical = conversion.apply(quantity.value)
        if canonical.adjusted() > _MAX_CANONICAL_EXPONENT:
            value_error = "is implausibly large in the canonical unit"
    if value_error is not None:
        errors.append(FieldError(_join(field, "value"), value_error))
    if conversion is None or value_error is not None:
        return None
    canonical_unit = ANALYTES[key].canonical_unit
    entered = Quantity(quantity.value, unit)
    return CanonicalLab(key, entered, _round(conversion.apply(quantity.value)), canonical_unit)


def conversion_to_canonical(key: str, unit: str, converter: UnitConverter) -> Conversion:
    """How `unit` becomes the analyte's canonical unit: by UCUM, else via the molar mass."""
    canonical = ANALYTES[key].canonical_unit
    try:
        return Conversion(multiply=converter.factor(unit, canonical))
    except NotCommensurable:
        bridge = protocol.MASS_TO_SUBSTANCE.get(key)
        if bridge is None:
            raise
        return _through_molar_mass(unit, canonical, bridge, converter)


def _through_molar_mass(
    unit: str, canonical: str, bridge: protocol.MassToSubstance, converter: UnitConverter
) -> Conversion:
    """An entered mass concentration -> the canonical substance concentration."""
    try:
        to_mass = converter.factor(unit, bridge.mass_unit)
    except NotCommensurable:
        raise NotCommensurable(unit, canonical) from None
    from_substance = converter.factor(bridge.substance_unit, canonical)
    return Conversion(to_mass * bridge.multiply * from_substance, bridge.divide)


def convert(key: str, value: Decimal, unit: str, converter: UnitConverter) -> Decimal:
    """`value` in `unit` as the analyte's canonical value (rounded); the unit must be valid."""
    return _round(conversion_to_canonical(key, _effective_unit(key, unit), converter).apply(value))


def _join(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name


def _unit_message(key: str, unit: str, exc: UnitError) -> str:
    canonical = ANALYTES[key].canonical_unit
    if not unit:
        return f"a UCUM unit is required (canonical: {canonical})"
    if isinstance(exc, NotUcum):
        return f"{unit!r} is not a UCUM unit (UCUM codes are case-sensitive; e.g. {canonical})"
    bridge = protocol.MASS_TO_SUBSTANCE.get(key)
    also = f" nor, through the molar mass, with {bridge.mass_unit}" if bridge else ""
    return f"{unit!r} is not commensurable with {canonical}{also}"


def _effective_unit(key: str, unit: str | None) -> str:
    """The unit as entered; INR without a unit is UCUM "1" (dimensionless)."""
    if ANALYTES[key].unit_optional and not unit:
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


def _derive_urea(labs: dict[str, CanonicalLab], converter: UnitConverter) -> None:
    """Add canonical `urea` (mmol/L) from BUN (mg/dL x 0.357) when urea was not entered."""
    bun = labs.get("urea_nitrogen")
    if bun is None or "urea" in labs:
        return
    to_mg_dl = conversion_to_canonical("urea_nitrogen", bun.entered.unit, converter)
    mg_dl = to_mg_dl.apply(bun.entered.value)
    urea = _round(_CTX.multiply(mg_dl, protocol.UREA_MMOL_L_PER_BUN_MG_DL))
    labs["urea"] = CanonicalLab(
        "urea", bun.entered, urea, ANALYTES["urea"].canonical_unit, derived_from=bun.key
    )
