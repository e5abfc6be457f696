"""Parsing a lab transaction Bundle and FHIR search parameters, without a database."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.interop.fhir.bundles import FhirError
from app.interop.fhir.ingest import SubjectKey, lab_entries
from app.interop.fhir.search import parse_search
from app.interop.ucum import UCUM
from tests.fhir_bundles import LAB_SYSTEM, observation, patient, transaction

PID = str(uuid.uuid4())
WHEN = "2026-03-10T07:30:00+08:00"


def bundle(n: int = 18) -> dict[str, Any]:
    labs = [
        observation(
            patient(PID), "1742-6", 40 + i, "U/L", f"2026-03-{i % 9 + 1:02d}T0{i // 9}:30:00Z"
        )
        for i in range(n)
    ]
    return transaction(labs)


def refused(body: Any) -> FhirError:
    with pytest.raises(FhirError) as caught:
        lab_entries(body, UCUM, max_entries=500)
    return caught.value


def paths(error: FhirError) -> list[str]:
    return [i.expression or "" for i in error.issues]


def test_a_valid_bundle_gives_one_entry_per_observation() -> None:
    body = bundle()
    entries = lab_entries(body, UCUM, max_entries=500)
    assert len(entries) == 18
    first = entries[0]
    assert first.subject == SubjectKey(participant_id=uuid.UUID(PID))
    assert (first.analyte, first.value, first.unit) == ("alt", Decimal("40"), "U/L")
    assert first.collected_at == datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    assert first.identifier == (LAB_SYSTEM, body["entry"][0]["resource"]["identifier"][0]["value"])


def test_a_bad_unit_in_entry_17_is_named_by_its_path() -> None:
    body = bundle()
    body["entry"][17]["resource"]["valueQuantity"]["code"] = "mmol/L"
    error = refused(body)
    assert error.status == 422
    assert paths(error) == ["Bundle.entry[17].resource.valueQuantity.code"]
    assert "LOINC 1742-6" in error.issues[0].diagnostics


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        (
            lambda r: r["code"]["coding"][0].update(code="9999-9"),
            "Bundle.entry[3].resource.code.coding[0].code",
            "code-invalid",
        ),
        (
            lambda r: r["valueQuantity"].update(code="furlong", unit="furlong"),
            "Bundle.entry[3].resource.valueQuantity.code",
            "code-invalid",
        ),
        (
            lambda r: r["valueQuantity"].pop("system"),
            "Bundle.entry[3].resource.valueQuantity",  # qty-3 (and the study rule)
            "invariant",
        ),
        (
            lambda r: r.update(effectiveDateTime="2026-03-10"),
            "Bundle.entry[3].resource.effectiveDateTime",
            "value",
        ),
        (
            lambda r: r.update(effectiveDateTime="yesterday"),
            "Bundle.entry[3].resource.effectiveDateTime",
            "value",
        ),
        (
            lambda r: r.update(status="preliminary"),
            "Bundle.entry[3].resource.status",
            "code-invalid",
        ),
        (lambda r: r.update(status="done"), "Bundle.entry[3].resource.status", "code-invalid"),
        (lambda r: r.pop("category"), "Bundle.entry[3].resource.category", "code-invalid"),
        (lambda r: r.update(foo=1), "Bundle.entry[3].resource.foo", "structure"),
        (
            lambda r: r["valueQuantity"].update(value=-3),
            "Bundle.entry[3].resource.valueQuantity.value",
            "value",
        ),
        (
            lambda r: r.update(subject={"reference": "Group/1"}),
            "Bundle.entry[3].resource.subject.reference",
            "value",
        ),
    ],
)
def test_each_problem_names_its_element(change: Any, path: str, code: str) -> None:
    body = bundle()
    change(body["entry"][3]["resource"])
    error = refused(body)
    assert path in paths(error), error.issues
    assert code in {i.code for i in error.issues if i.expression == path}


def test_every_bad_entry_is_reported_at_once() -> None:
    body = bundle()
    for i in (2, 9, 17):
        body["entry"][i]["resource"]["code"]["coding"][0]["code"] = "0000-0"
    assert paths(refused(body)) == [
        f"Bundle.entry[{i}].resource.code.coding[0].code" for i in (2, 9, 17)
    ]


def test_a_mass_loinc_code_takes_mass_units_only() -> None:
    """1975-2 is bilirubin [Mass/volume]: mg/dL is converted; umol/L is refused, not guessed."""
    body = transaction([observation(patient(PID), "1975-2", 15, "mg/dL", WHEN)])
    (entry,) = lab_entries(body, UCUM, max_entries=5)
    assert (entry.analyte, entry.unit) == ("total_bilirubin", "mg/dL")
    wrong = transaction([observation(patient(PID), "14631-6", 15, "mg/dL", WHEN)])
    assert paths(refused(wrong)) == ["Bundle.entry[0].resource.valueQuantity.code"]


def test_subjects_by_identifier_and_conditional_reference() -> None:
    by_ident = {"identifier": {"system": "urn:oid:1.2.3", "value": "MRN-1"}}
    conditional = {"reference": "Patient?identifier=urn:oid:1.2.3|MRN-1"}
    body = transaction(
        [
            observation(by_ident, "1742-6", 40, "U/L", WHEN),
            observation(conditional, "1742-6", 41, "U/L", "2026-03-11T07:30:00+08:00"),
        ]
    )
    keys = [e.subject for e in lab_entries(body, UCUM, max_entries=5)]
    assert keys == [SubjectKey(system="urn:oid:1.2.3", value="MRN-1")] * 2


def test_a_key_for_conditional_create_is_required() -> None:
    body = bundle(2)
    body["entry"][1]["request"].pop("ifNoneExist")
    body["entry"][1]["resource"].pop("identifier")
    assert paths(refused(body)) == ["Bundle.entry[1].request.ifNoneExist"]
    body = bundle(2)
    body["entry"][1]["request"]["ifNoneExist"] = "code=1742-6"
    assert paths(refused(body)) == ["Bundle.entry[1].request.ifNoneExist"]


def test_duplicates_inside_one_bundle() -> None:
    body = bundle(2)
    body["entry"].append(copy.deepcopy(body["entry"][0]))
    body["entry"][2]["fullUrl"] = f"urn:uuid:{uuid.uuid4()}"
    error = refused(body)
    assert {i.code for i in error.issues} == {"duplicate"}
    assert paths(error) == ["Bundle.entry[2].resource"] * 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"resourceType": "Patient"}, 400),
        ({"resourceType": "Bundle", "type": "batch", "entry": []}, 400),
        ({"resourceType": "Bundle", "type": "transaction", "entry": []}, 422),
        ([1, 2], 400),
    ],
)
def test_the_shape(body: Any, status: int) -> None:
    assert refused(body).status == status


def test_other_resource_types_and_methods_are_refused() -> None:
    body = bundle(3)
    body["entry"][1]["resource"] = {"resourceType": "Patient"}
    body["entry"][2]["request"]["method"] = "PUT"
    assert paths(refused(body)) == ["Bundle.entry[1].resource", "Bundle.entry[2].request"]


def test_too_many_entries() -> None:
    with pytest.raises(FhirError) as caught:
        lab_entries(bundle(6), UCUM, max_entries=5)
    assert caught.value.status == 413


# --- search ------------------------------------------------------------------------------------


def test_search_parameters() -> None:
    query = parse_search(
        "Observation",
        [
            ("patient", f"Patient/{PID}"),
            ("subject", f"https://x/fhir/Patient/{PID}"),
            ("code", "http://loinc.org|1742-6,1920-8"),
            ("date", "ge2026-03-01"),
            ("date", "lt2026-03-02T08:00 08:00"),  # an unencoded "+" arrives as a space
            ("_count", "10"),
            ("_offset", "20"),
        ],
        max_count=100,
    )
    assert query.patients == frozenset({uuid.UUID(PID)})
    assert (query.count, query.offset) == (10, 20)
    (codes,) = query.tokens["code"]
    assert [(t.system, t.code) for t in codes] == [("http://loinc.org", "1742-6"), (None, "1920-8")]
    ge, lt = query.dates["date"]
    assert ge.low == datetime(2026, 3, 1, tzinfo=UTC)
    assert lt.low == datetime(2026, 3, 2, tzinfo=UTC)  # 08:00+08:00
    assert len(query.used) == 5


def test_an_unknown_patient_id_matches_nothing() -> None:
    query = parse_search("Encounter", [("patient", "not-a-uuid")], max_count=100)
    assert query.patients == frozenset()


@pytest.mark.parametrize(
    "params",
    [
        [("foo", "1")],
        [("code:text", "alt")],
        [("date", "ap2026-03-01")],
        [("date", "2026-13-01")],
        [("_count", "101")],
        [("_count", "-1")],
        [("_format", "xml")],
        [("date", "2026-03-01,2026-03-02")],
    ],
)
def test_bad_search_parameters_are_400(params: list[tuple[str, str]]) -> None:
    with pytest.raises(FhirError) as caught:
        parse_search("Observation", params, max_count=100)
    assert caught.value.status == 400


def test_lenient_handling_ignores_unknown_parameters() -> None:
    query = parse_search(
        "Patient", [("foo", "1"), ("_lastUpdated", "gt2026")], max_count=100, lenient=True
    )
    assert query.used == (("_lastUpdated", "gt2026"),)
