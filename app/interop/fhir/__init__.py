"""HL7 FHIR R4 (4.0.1): pure mappers between the service's records and FHIR resources.

Nothing here touches the database or FastAPI (STYLE.md, "Growing the house"): the services
fetch records and call these functions; `app/routers/fhir.py` stays thin. Resources are built
with `fhir.resources` (its R4B models, structurally identical to R4 4.0.1 for every element
used here: docs/fhir.md) and checked against the R4 invariants and value sets in tests.
"""
