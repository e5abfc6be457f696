"""Transaction Bundles of lab Observations, as an EHR sends them (unit and API tests)."""

from __future__ import annotations

import uuid
from typing import Any

LAB_SYSTEM = "urn:oid:1.2.156.112604.1.2.9"  # the hospital's lab-result identifiers (example)

# analyte: (LOINC, value, unit) with eligible screening values
ELIGIBLE = {
    "inr": ("6301-6", 1.8, "{INR}"),
    "total_bilirubin": ("14631-6", 250, "umol/L"),
    "neutrophils": ("751-8", 3.2, "10*9/L"),
    "urea": ("22664-7", 5.1, "mmol/L"),
    "albumin": ("1751-7", 30, "g/L"),
}


def observation(
    subject: dict[str, Any],
    loinc: str,
    value: float,
    unit: str,
    effective: str,
    identifier: str | None = None,
) -> dict[str, Any]:
    ident = identifier or uuid.uuid4().hex
    return {
        "resourceType": "Observation",
        "identifier": [{"system": LAB_SYSTEM, "value": ident}],
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": subject,
        "effectiveDateTime": effective,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def transaction(observations: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": obs,
                "request": {
                    "method": "POST",
                    "url": "Observation",
                    "ifNoneExist": "identifier={}|{}".format(
                        obs["identifier"][0]["system"], obs["identifier"][0]["value"]
                    ),
                },
            }
            for obs in observations
        ],
    }


def patient(participant_id: str) -> dict[str, Any]:
    return {"reference": f"Patient/{participant_id}"}


def eligible_labs(subject: dict[str, Any], effective: str) -> list[dict[str, Any]]:
    return [observation(subject, *spec, effective) for spec in ELIGIBLE.values()]
