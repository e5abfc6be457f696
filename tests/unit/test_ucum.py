"""UCUM by meaning (SPEC §9.3, §3.4): the ucumvert adapter and every analyte's conversions."""

from decimal import Decimal

import pytest

from app.domain import protocol
from app.domain.analytes import ANALYTES
from app.domain.errors import InvalidData
from app.domain.units import (
    FACTOR_SIGNIFICANT_DIGITS,
    NotCommensurable,
    NotUcum,
    Quantity,
    canonicalize_labs,
)
from app.interop import ucum
from app.interop.ucum import UCUM

D = Decimal


def canonical(key: str, value: str, unit: str) -> tuple[Decimal, str]:
    lab = canonicalize_labs({key: Quantity(D(value), unit)}, UCUM)[key]
    return lab.value, lab.unit


# --- the adapter ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "target", "factor"),
    [
        ("10*3/uL", "10*9/L", "1"),
        ("mg/dL", "mg/L", "10"),
        ("g/dL", "g/L", "10"),
        ("ukat/L", "U/L", "60"),
        ("pg/mL", "ng/L", "1"),  # 0.9999999999999999 in floating point
        ("ng/mL", "ug/L", "1"),  # 1.0000000000000002 in floating point
        ("/nL", "10*9/L", "1"),
        ("mol/m3", "mmol/L", "1"),
        ("%", "1", "0.01"),
        ("{INR}", "1", "1"),  # an annotation alone is unity
        ("meq/L", "mmol/L", "1"),
        ("min", "s", "60"),
    ],
)
def test_factors_are_exact_decimals(source: str, target: str, factor: str) -> None:
    assert UCUM.factor(source, target) == D(factor)


@pytest.mark.parametrize(
    "unit", ["furlong", "", "µmol/L", "G/DL", "mEq/L", "IU/L", "mg/dL.", "[pH]"]
)
def test_not_ucum_is_its_own_error(unit: str) -> None:
    with pytest.raises(NotUcum) as exc:
        UCUM.factor(unit, "mg/dL")
    assert exc.value.unit == unit


@pytest.mark.parametrize(
    ("source", "target"),
    [("mmol/L", "U/L"), ("mg/dL", "umol/L"), ("[IU]/L", "U/L"), ("10*9/L", "1"), ("Cel", "s")],
)
def test_not_commensurable_is_its_own_error(source: str, target: str) -> None:
    with pytest.raises(NotCommensurable):
        UCUM.factor(source, target)


def test_registry_built_once_and_factors_cached() -> None:
    UCUM.factor("mg/dL", "g/L")
    hits = ucum._outcome.cache_info().hits
    UCUM.factor("mg/dL", "g/L")
    assert ucum._outcome.cache_info().hits == hits + 1
    assert ucum._registry.cache_info().currsize == 1
    assert FACTOR_SIGNIFICANT_DIGITS == 12


# --- every analyte of SPEC §7: entered -> canonical --------------------------------------------
CONVERSIONS = [
    ("alt", "120", "U/L", "120"),
    ("alt", "1", "ukat/L", "60"),
    ("ast", "2", "ukat/L", "120"),
    ("alp", "1.5", "ukat/L", "90"),
    ("ggt", "100", "nkat/L", "6"),
    ("total_bilirubin", "3.0", "mg/dL", "51.3"),  # 51.300000000000004 in floating point
    ("total_bilirubin", "2.0", "mg/dL", "34.2"),
    ("total_bilirubin", "10", "mg/dL", "171"),
    ("total_bilirubin", "30", "mg/L", "51.3"),
    ("total_bilirubin", "0.0513", "mmol/L", "51.3"),
    ("direct_bilirubin", "1.2", "mg/dL", "20.52"),
    ("direct_bilirubin", "12", "mg/L", "20.52"),
    ("albumin", "3.5", "g/dL", "35"),
    ("albumin", "1.1", "g/dL", "11"),  # 11.000000000000002 in floating point
    ("albumin", "2800", "mg/dL", "28"),
    ("inr", "1.8", "", "1.8"),
    ("inr", "1.8", "{INR}", "1.8"),
    ("pt", "18.5", "s", "18.5"),
    ("pt", "0.3", "min", "18"),
    ("pta", "40", "%", "40"),
    ("pta", "0.4", "1", "40"),
    ("fibrinogen", "180", "mg/dL", "1.8"),
    ("wbc", "8.2", "10*3/uL", "8.2"),
    ("wbc", "8200", "/uL", "8.2"),
    ("neutrophils", "4.2", "10^9/L", "4.2"),
    ("neutrophils", "4.2", "/nL", "4.2"),
    ("neutrophils", "3.2", "10*3/uL", "3.2"),  # the EHR spelling of issue 11
    ("crp", "1.2", "mg/dL", "12"),
    ("pct", "50", "pg/mL", "0.05"),
    ("pct", "0.5", "ug/L", "0.5"),
    ("il6", "5", "ng/L", "5"),  # 4.999999999999999 in floating point
    ("platelets", "85", "10*3/uL", "85"),
    ("hemoglobin", "11.2", "g/dL", "112"),
    ("creatinine", "1.0", "mg/dL", "88.4"),
    ("creatinine", "10", "mg/L", "88.4"),
    ("creatinine", "0.0884", "mmol/L", "88.4"),
    ("urea", "60.06", "mg/dL", "10"),
    ("urea", "10", "mg/dL", "1.6650"),
    ("urea", "600.6", "mg/L", "10"),
    ("urea_nitrogen", "30", "mg/dL", "30"),
    ("urea_nitrogen", "300", "mg/L", "30"),
    ("sodium", "135", "mmol/L", "135"),
    ("sodium", "135", "meq/L", "135"),
    ("ammonia", "100", "ug/dL", "58.72"),
    ("ammonia", "1", "mg/dL", "587.2"),
    ("ammonia", "0.05872", "mmol/L", "58.72"),
]


@pytest.mark.parametrize(("key", "value", "unit", "expected"), CONVERSIONS)
def test_every_analyte_converts(key: str, value: str, unit: str, expected: str) -> None:
    got, _ = canonical(key, value, unit)
    assert got == D(expected)
    assert got.as_tuple().exponent == -protocol.CANONICAL_DECIMALS


def test_every_analyte_has_a_pinned_conversion_from_another_unit() -> None:
    """SPEC §9.3: pin the conversions of every analyte of §7, not only the canonical unit."""
    other = {key for key, _, unit, _ in CONVERSIONS if unit != ANALYTES[key].canonical_unit}
    assert other == set(ANALYTES)


@pytest.mark.parametrize(
    ("key", "unit"),
    [
        ("alt", "mmol/L"),
        ("total_bilirubin", "U/L"),
        ("total_bilirubin", "10*9/L"),
        ("urea_nitrogen", "mmol/L"),  # mmol of what: refused, never guessed
        ("albumin", "mmol/L"),  # no molar mass for albumin in the protocol
        ("inr", "s"),
        ("wbc", "g/L"),
        ("crp", "[IU]/L"),
    ],
)
def test_incommensurable_unit_names_the_field(key: str, unit: str) -> None:
    with pytest.raises(InvalidData) as exc:
        canonicalize_labs({key: Quantity(D(1), unit)}, UCUM, field_prefix="x")
    (error,) = exc.value.errors
    assert error.field == f"x.{key}.unit"
    assert "not commensurable" in error.message


def test_not_ucum_names_the_field() -> None:
    with pytest.raises(InvalidData) as exc:
        canonicalize_labs({"sodium": Quantity(D(1), "mEq/L")}, UCUM)
    (error,) = exc.value.errors
    assert (error.field, "not a UCUM unit" in error.message) == ("labs.sodium.unit", True)


def test_lab_maps_accept_every_analyte_in_its_canonical_unit() -> None:
    entered = {a.key: Quantity(D("1.5"), a.canonical_unit) for a in ANALYTES.values()}
    labs = canonicalize_labs(entered, UCUM)
    assert set(labs) == set(ANALYTES)
    assert all(lab.value == D("1.5") for lab in labs.values())


def test_bun_in_other_mass_units_derives_the_same_urea() -> None:
    labs = canonicalize_labs({"urea_nitrogen": Quantity(D(300), "mg/L")}, UCUM)
    assert labs["urea"].value == D("10.71")
    assert labs["urea"].derived_from == "urea_nitrogen"


def test_absurd_unit_scale_is_refused_not_crashing() -> None:
    with pytest.raises(InvalidData) as exc:
        canonicalize_labs({"wbc": Quantity(D("1e14"), "10*40/L")}, UCUM)
    assert [e.field for e in exc.value.errors] == ["labs.wbc.value"]


@pytest.mark.parametrize(("key", "bridge"), list(protocol.MASS_TO_SUBSTANCE.items()))
def test_spec_factors_agree_with_molar_masses(key: str, bridge: protocol.MassToSubstance) -> None:
    """The conventional SPEC §3.4 factors are within 0.1% of the molar-mass conversion."""
    grams_per_litre = UCUM.factor(bridge.mass_unit, "g/L")
    to_substance = UCUM.factor("mol/L", bridge.substance_unit)
    exact = grams_per_litre / bridge.molar_mass_g_mol * to_substance
    used = bridge.multiply / bridge.divide
    assert abs(used / exact - 1) < D("0.001"), key


def test_spec_3_4_factors_exactly() -> None:
    table = protocol.MASS_TO_SUBSTANCE
    assert table["total_bilirubin"].multiply == D("17.1")
    assert table["creatinine"].multiply == D("88.4")
    assert table["urea"].divide == D("6.006")
    assert D("0.357") == protocol.UREA_MMOL_L_PER_BUN_MG_DL


def test_warm_up_builds_the_registry_and_parses_canonical_units() -> None:
    ucum.warm_up()
    assert ucum._registry.cache_info().currsize == 1
    assert ucum._parse("umol/L") is not None
