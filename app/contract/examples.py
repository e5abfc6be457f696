"""One example request body per input schema (SPEC §9.1), keyed by the schema's name.

They go into the document as each schema's `examples`; tests/unit/test_openapi_document.py
validates every one against its model, so an example can never drift from what is accepted.
"""

from __future__ import annotations

from typing import Any

from app.schemas.integration import EXAMPLE_JWKS

LABS = {
    "inr": {"value": 1.8, "unit": "1"},
    "total_bilirubin": {"value": 14.6, "unit": "mg/dL"},
    "neutrophils": {"value": 3.2, "unit": "10*3/uL"},
    "urea_nitrogen": {"value": 14, "unit": "mg/dL"},
    "albumin": {"value": 3.0, "unit": "g/dL"},
}
SYMPTOMS = {"fatigue": 2, "anorexia": 2, "nausea": 1, "jaundice": 3, "consciousness": 0}
REASON = {"reason": "entered against the wrong participant"}

EXAMPLES: dict[str, dict[str, Any]] = {
    "Body_login": {"username": "inv1", "password": "a long passphrase"},
    "SiteIn": {"code": "GZ3", "name": "Third Affiliated Hospital, Sun Yat-sen University"},
    "SitePatch": {"mrn_system": "urn:oid:1.2.156.112604.1.2", "reason": "EHR go-live"},
    "UserIn": {"username": "inv1", "role": "investigator", "site_code": "GZ3"},
    "UserPatch": {"active": False, "reason": "left the study team"},
    "TokenIn": {"name": "lab interface", "expires_in_days": 90},
    "IntegrationClientIn": {
        "name": "GZ3 laboratory feed",
        "user_id": "3f0c6d1e-6f7b-4f59-9a51-0b6f2f0c9d11",
        "jwks": EXAMPLE_JWKS,
        "scopes": ["system/*.rs", "system/Observation.c"],
    },
    "ClientDeactivateIn": {"reason": "the laboratory system was replaced"},
    "ParticipantIn": {"site_code": "GZ3", "date_of_birth": "1971-04-02", "sex": "male"},
    "ParticipantPatch": {"date_of_birth": "1971-04-12", "reason": "transcription error"},
    "ScreeningIn": {
        "assessment_date": "2026-12-01",
        "labs": LABS,
        "he_grade": 1,
        "ascites": "mild",
        "aclf_diagnosis_confirmed": True,
        "symptoms": SYMPTOMS,
    },
    "ConsentIn": {"consent_date": "2026-12-01", "form_version": "ICF v1.2"},
    "AllocationListIn": {"block_sizes": [4, 6]},
    "DeactivateIn": {"reason": "list used up"},
    "DoseIn": {
        "dose_number": 1,
        "started_at": "2026-12-02T01:00:00Z",
        "ended_at": "2026-12-02T03:05:00Z",
        "particles": 200000000000,
        "volume_ml": 100,
        "lot_number": "EVS-2026-001",
    },
    "DosePatch": {"ended_at": "2026-12-02T03:10:00Z", "reason": "end time misread"},
    "VisitIn": {
        "visit_day": 4,
        "visit_date": "2026-12-05",
        "vital_status": "alive",
        "he_grade": 0,
        "ascites": "mild",
        "labs": {**LABS, "total_bilirubin": {"value": 180, "unit": "umol/L"}},
        "symptoms": {**SYMPTOMS, "anorexia": 1, "nausea": 0, "jaundice": 2},
    },
    "VisitPatch": {"he_grade": 1, "reason": "grade re-assessed by the investigator"},
    "VoidIn": REASON,
    "LabResultIn": {
        "analyte": "alt",
        "value": 1.2,
        "unit": "ukat/L",
        "collected_at": "2026-12-02T00:30:00Z",
        "reference_range_high": 0.67,
    },
    "LabResultPatch": {"value": 1.3, "reason": "laboratory amended the result"},
    "TreatmentIn": {
        "category": "antiviral",
        "name": "entecavir",
        "start_date": "2026-11-20",
        "dose": "0.5 mg once daily",
        "route": "oral",
        "atc_code": "J05AF10",
    },
    "TreatmentPatch": {"end_date": "2026-12-20", "reason": "stopped by the hepatologist"},
    "OutcomeIn": {"type": "liver_transplant", "date": "2026-12-20"},
    "AdverseEventIn": {
        "term": "Fever",
        "onset_date": "2026-12-02",
        "ctcae_grade": 2,
        "serious": False,
        "seriousness_criteria": [],
        "relatedness": "possible",
        "expectedness": "expected",
        "action_taken": "none",
        "outcome": "recovering",
        "aware_at": "2026-12-02T08:00:00+08:00",
    },
    "AdverseEventPatch": {"outcome": "recovered", "end_date": "2026-12-04", "reason": "resolved"},
    "SponsorReportIn": {"reported_at": "2026-12-02T10:00:00Z"},
    "CalculatorCosshIn": {"age": 55, "he_grade": 1, "labs": LABS},
    "CalculatorChildPughIn": {"labs": LABS, "ascites": "mild", "he_grade": 1},
    "SymptomsIn": SYMPTOMS,
    # webhooks and data management (SPEC §12, §13)
    "WebhookIn": {
        "url": "https://sponsor.example.org/hooks/aclf",
        "events": ["adverse_event.serious", "adverse_event.susar"],
        "site_code": None,
    },
    "UnlockIn": {"reason": "a late laboratory correction must be entered"},
    "SignatureIn": {"meaning": "approval", "password": "a long passphrase"},
    "SdvIn": {"resource": "visit", "record_id": "5acbdce5-7c96-4c74-b2bd-04634b830781"},
    "QueryIn": {
        "participant_id": "5066a1b7-7640-499b-99f4-32af3d77af87",
        "resource": "visit",
        "record_id": "5acbdce5-7c96-4c74-b2bd-04634b830781",
        "field": "labs.total_bilirubin",
        "text": "180 umol/L here, 14.6 mg/dL in the source: please check the unit",
    },
    "QueryResponseIn": {"text": "unit corrected to umol/L in the source and here"},
    "QueryActionIn": {"text": "checked against the laboratory report"},
}
