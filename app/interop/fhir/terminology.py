"""Every code system, identifier system and code our FHIR resources use, in one place.

External systems (LOINC, UCUM, SNOMED CT, HL7 code systems) are cited as published; the
service's own systems live under `NAMESPACE`, a stable URI that names them (it need not
resolve). docs/fhir.md lists them; tests/unit/test_fhir_resources.py checks every coding the
service produces against this module, the R4 value sets and the LOINC table of SPEC §7.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.analytes import ANALYTES, BY_LOINC
from app.domain.protocol import PRODUCT_NAME, TRIAL_CODE

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"
NAMESPACE = "https://aclf-trial.example.org/fhir"

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
MEDDRA = "http://terminology.hl7.org/CodeSystem/mdr"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
AE_CAUSALITY = "http://terminology.hl7.org/CodeSystem/adverse-event-causality-assess"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
STUDY_PURPOSE = "http://terminology.hl7.org/CodeSystem/research-study-prim-purp-type"
STUDY_OBJECTIVE_TYPE = "http://terminology.hl7.org/CodeSystem/research-study-objective-type"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"

# --- the service's own identifier and code systems ------------------------------------------
STUDY_ID_SYSTEM = f"{NAMESPACE}/sid/study-id"  # a participant's study id (GZ3-0001)
PROTOCOL_SYSTEM = f"{NAMESPACE}/sid/protocol"  # the trial's code
SCORE_SYSTEM = f"{NAMESPACE}/CodeSystem/scores"
VISIT_SYSTEM = f"{NAMESPACE}/CodeSystem/visits"
PRODUCT_SYSTEM = f"{NAMESPACE}/CodeSystem/products"

STUDY_ID = TRIAL_CODE  # ResearchStudy.id: the protocol code is a valid FHIR id
ARMS = ("control", "exosome")

SCORES: dict[str, str] = {  # stored score key -> display
    "cossh_aclf_ii": "COSSH-ACLF II score",
    "child_pugh": "Child-Pugh score",
    "symptom_score": "Clinical symptom score",
}
SCORE_CODES: dict[str, str] = {  # stored score key -> code in SCORE_SYSTEM
    "cossh_aclf_ii": "cossh-aclf-ii",
    "child_pugh": "child-pugh",
    "symptom_score": "symptom-score",
}
SCORE_KEYS_BY_CODE = {code: key for key, code in SCORE_CODES.items()}
SCORE_COMPONENTS: dict[str, tuple[str, str, str]] = {  # score key -> (stored field, code, display)
    "cossh_aclf_ii": ("risk", "cossh-aclf-ii-risk", "COSSH-ACLF II risk group"),
    "child_pugh": ("class", "child-pugh-class", "Child-Pugh class"),
}
OWN_CODES: dict[str, frozenset[str]] = {
    SCORE_SYSTEM: frozenset(
        [*SCORE_CODES.values(), *(code for _, code, _ in SCORE_COMPONENTS.values())]
    ),
    VISIT_SYSTEM: frozenset(f"day-{d}" for d in (4, 7, 10, 13, 28, 84)),
    PRODUCT_SYSTEM: frozenset({TRIAL_CODE}),
}
PRODUCT_DISPLAY = PRODUCT_NAME

INTRAVENOUS_ROUTE = (SNOMED, "47625008", "Intravenous route (qualifier value)")
SNOMED_CODES_USED = frozenset({INTRAVENOUS_ROUTE[1]})  # checked by hand, listed in docs/fhir.md

# --- LOINC ------------------------------------------------------------------------------------
# Long common names of the SPEC §7 codes (LOINC 2.82; verified in /work/research/fhir.md §5).
LOINC_DISPLAY: dict[str, str] = {
    "1742-6": "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "1920-8": "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "6768-6": "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma",
    "2324-2": "Gamma glutamyl transferase [Enzymatic activity/volume] in Serum or Plasma",
    "14631-6": "Bilirubin.total [Moles/volume] in Serum or Plasma",
    "14629-0": "Bilirubin.direct [Moles/volume] in Serum or Plasma",
    "1751-7": "Albumin [Mass/volume] in Serum or Plasma",
    "6301-6": "INR in Platelet poor plasma by Coagulation assay",
    "5902-2": "Prothrombin time (PT)",
    "5894-1": "Prothrombin time (PT) actual/Normal",
    "3255-7": "Fibrinogen [Mass/volume] in Platelet poor plasma by Coagulation assay",
    "6690-2": "Leukocytes [#/volume] in Blood by Automated count",
    "751-8": "Neutrophils [#/volume] in Blood by Automated count",
    "1988-5": "C reactive protein [Mass/volume] in Serum or Plasma",
    "33959-8": "Procalcitonin [Mass/volume] in Serum or Plasma",
    "26881-3": "Interleukin 6 [Mass/volume] in Serum or Plasma",
    "777-3": "Platelets [#/volume] in Blood by Automated count",
    "718-7": "Hemoglobin [Mass/volume] in Blood",
    "14682-9": "Creatinine [Moles/volume] in Serum or Plasma",
    "22664-7": "Urea [Moles/volume] in Serum or Plasma",
    "3094-0": "Urea nitrogen [Mass/volume] in Serum or Plasma",
    "2951-2": "Sodium [Moles/volume] in Serum or Plasma",
    "16362-6": "Ammonia [Moles/volume] in Plasma",
    # accepted on ingest only (the same analyte measured as the other property)
    "1975-2": "Bilirubin.total [Mass/volume] in Serum or Plasma",
    "1968-7": "Bilirubin.direct [Mass/volume] in Serum or Plasma",
    "2160-0": "Creatinine [Mass/volume] in Serum or Plasma",
    "3091-6": "Urea [Mass/volume] in Serum or Plasma",
}


@dataclass(frozen=True, slots=True)
class LoincCode:
    """A LOINC code accepted on ingest: the analyte it is, and a unit of its property.

    A value's unit must be commensurable with `property_unit` (UCUM, no molar mass): a
    [Moles/volume] code with mg/dL is refused, never reinterpreted.
    """

    code: str
    analyte: str
    property_unit: str


def _ingest_codes() -> dict[str, LoincCode]:
    codes = {c: LoincCode(c, a.key, a.canonical_unit) for c, a in BY_LOINC.items()}
    # The same analytes reported as the other property (US labs report mass concentrations):
    # converted to the canonical unit through the molar masses of app/domain/protocol.py.
    for code, analyte, unit in (
        ("1975-2", "total_bilirubin", "mg/dL"),
        ("1968-7", "direct_bilirubin", "mg/dL"),
        ("2160-0", "creatinine", "mg/dL"),
        ("3091-6", "urea", "mg/dL"),
    ):
        codes[code] = LoincCode(code, analyte, unit)
    return codes


INGEST_LOINC: dict[str, LoincCode] = _ingest_codes()
ANALYTE_DISPLAY = {key: a.display_name for key, a in ANALYTES.items()}
