"""Unit conversion at the edge (SPEC §3.4, §6)."""

from decimal import Decimal

import pytest

from app.domain import protocol
from app.domain.errors import InvalidData
from app.domain.units import LAB_KEYS, CanonicalLab, Quantity
from app.domain.units import canonicalize_labs as _canonicalize_labs
from app.interop.ucum import UCUM


def canonicalize_labs(
    labs: dict[str, Quantity], field_prefix: str = "labs"
) -> dict[str, CanonicalLab]:
    return _canonicalize_labs(labs, UCUM, field_prefix)


def q(value: str, unit: str) -> Quantity:
    return Quantity(Decimal(value), unit)


def one(key: str, value: str, unit: str) -> CanonicalLab:
    return canonicalize_labs({key: q(value, unit)})[key]


def fields(exc: pytest.ExceptionInfo[InvalidData]) -> list[str]:
    return [e.field for e in exc.value.errors]


def test_lab_keys_are_the_spec_keys() -> None:
    assert set(LAB_KEYS) == {
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
    }


@pytest.mark.parametrize(
    ("key", "value", "unit", "expected", "canonical_unit"),
    [
        ("total_bilirubin", "3.0", "mg/dL", "51.3", "umol/L"),
        ("total_bilirubin", "2.0", "mg/dL", "34.2", "umol/L"),
        ("total_bilirubin", "10", "mg/dL", "171", "umol/L"),
        ("total_bilirubin", "171", "umol/L", "171", "umol/L"),
        ("albumin", "3.5", "g/dL", "35", "g/L"),
        ("albumin", "2.8", "g/dL", "28", "g/L"),
        ("albumin", "30", "g/L", "30", "g/L"),
        ("creatinine", "1.0", "mg/dL", "88.4", "umol/L"),
        ("creatinine", "88.4", "umol/L", "88.4", "umol/L"),
        ("urea", "60.06", "mg/dL", "10", "mmol/L"),
        ("urea", "10", "mg/dL", "1.6650", "mmol/L"),  # 1.66500166... rounds to 4 places
        ("urea", "7.5", "mmol/L", "7.5", "mmol/L"),
        ("urea_nitrogen", "30", "mg/dL", "30", "mg/dL"),  # SPEC §7: BUN is canonical in mg/dL
        ("inr", "1.5", "1", "1.5", "1"),
        ("pta", "40", "%", "40", "%"),
        ("neutrophils", "4.2", "10*9/L", "4.2", "10*9/L"),
        ("sodium", "135", "mmol/L", "135", "mmol/L"),
        ("alt", "120", "U/L", "120", "U/L"),
        ("ast", "98", "U/L", "98", "U/L"),
    ],
)
def test_conversion_to_canonical_unit(
    key: str, value: str, unit: str, expected: str, canonical_unit: str
) -> None:
    lab = one(key, value, unit)
    assert lab.value == Decimal(expected)
    assert lab.unit == canonical_unit
    assert lab.entered == q(value, unit)
    assert lab.key == key


def test_converted_value_is_rounded_to_stated_precision() -> None:
    lab = one("urea", "10", "mg/dL")
    assert lab.value.as_tuple().exponent == -protocol.CANONICAL_DECIMALS


def test_three_mg_dl_bilirubin_is_exactly_51_3_not_float_noise() -> None:
    assert float("3.0") * 17.1 != 51.3  # the floating-point trap this module exists to avoid
    assert one("total_bilirubin", "3.0", "mg/dL").value == Decimal("51.3")


@pytest.mark.parametrize("unit", ["", "1"])
def test_inr_without_unit_means_dimensionless(unit: str) -> None:
    lab = one("inr", "2.1", unit)
    assert lab.unit == "1"
    assert lab.entered.unit == "1"


def test_empty_unit_is_refused_for_other_labs() -> None:
    with pytest.raises(InvalidData) as exc:
        one("total_bilirubin", "100", "")
    assert fields(exc) == ["labs.total_bilirubin.unit"]


def test_unknown_unit_names_field_and_lists_accepted_units() -> None:
    with pytest.raises(InvalidData) as exc:
        one("total_bilirubin", "100", "U/L")
    (error,) = exc.value.errors
    assert error.field == "labs.total_bilirubin.unit"
    assert "umol/L" in error.message
    assert "mg/dL" in error.message


def test_unit_codes_are_case_sensitive_ucum() -> None:
    with pytest.raises(InvalidData) as exc:
        one("albumin", "3.5", "G/DL")
    assert fields(exc) == ["labs.albumin.unit"]


def test_bun_accepts_only_mass_concentrations() -> None:
    assert one("urea_nitrogen", "10", "mg/dL").value == Decimal("10")
    with pytest.raises(InvalidData) as exc:
        one("urea_nitrogen", "10", "mmol/L")
    assert fields(exc) == ["labs.urea_nitrogen.unit"]


def test_every_bad_field_is_reported_at_once() -> None:
    labs = {
        "potassium": q("4", "mmol/L"),
        "inr": q("NaN", "1"),
        "neutrophils": q("Infinity", "10*9/L"),
        "urea": q("-1", "mmol/L"),
        "albumin": q("-1", "mmol/L"),  # mg/L is commensurable with g/L (SPEC §9.3)
    }
    with pytest.raises(InvalidData) as exc:
        canonicalize_labs(labs)
    assert fields(exc) == [
        "labs.potassium",
        "labs.inr.value",
        "labs.neutrophils.value",
        "labs.urea.value",
        "labs.albumin.unit",
        "labs.albumin.value",
    ]


def test_field_prefix_is_used_in_field_names() -> None:
    with pytest.raises(InvalidData) as exc:
        canonicalize_labs({"inr": q("1", "s")}, field_prefix="visits.0.labs")
    assert fields(exc) == ["visits.0.labs.inr.unit"]


def test_implausibly_large_value_is_refused_not_crashing() -> None:
    with pytest.raises(InvalidData) as exc:
        one("creatinine", "1e40", "mg/dL")
    assert fields(exc) == ["labs.creatinine.value"]


def test_zero_is_accepted_here_scores_decide_about_logs() -> None:
    assert one("neutrophils", "0", "10*9/L").value == 0
    assert one("neutrophils", "-0", "10*9/L").value.is_signed() is False


def test_bun_yields_canonical_urea_when_urea_absent() -> None:
    labs = canonicalize_labs({"urea_nitrogen": q("30", "mg/dL")})
    assert labs["urea_nitrogen"].value == Decimal("30")  # SPEC §7: BUN canonical is mg/dL
    assert labs["urea"].value == Decimal("10.71")
    assert labs["urea"].unit == "mmol/L"
    assert labs["urea"].derived_from == "urea_nitrogen"
    assert labs["urea"].entered == q("30", "mg/dL")


def test_measured_urea_wins_over_bun() -> None:
    labs = canonicalize_labs({"urea_nitrogen": q("30", "mg/dL"), "urea": q("8", "mmol/L")})
    assert labs["urea"].value == Decimal("8")
    assert labs["urea"].derived_from is None
    assert labs["urea_nitrogen"].value == Decimal("30")


def test_empty_labs() -> None:
    assert canonicalize_labs({}) == {}
