"""What the FHIR endpoint implements: the one table the CapabilityStatement, the router and the
search parser read, and the SMART configuration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fhir.resources.R4B.capabilitystatement import (
    CapabilityStatement,
    CapabilityStatementImplementation,
    CapabilityStatementRest,
    CapabilityStatementRestInteraction,
    CapabilityStatementRestResource,
    CapabilityStatementRestResourceInteraction,
    CapabilityStatementRestResourceSearchParam,
    CapabilityStatementRestSecurity,
    CapabilityStatementSoftware,
)
from fhir.resources.R4B.extension import Extension

from app.interop.fhir.common import concept, narrative
from app.interop.fhir.terminology import FHIR_VERSION, OAUTH_URIS, SECURITY_SERVICE

TOKEN_PATH = "/api/v1/auth/client-token"
ASSERTION_ALGORITHMS = ("RS384", "ES384")
SCOPES_SUPPORTED = ("system/*.rs", "system/Observation.c")


@dataclass(frozen=True, slots=True)
class SearchParam:
    name: str
    type: str  # token | reference | date
    documentation: str


@dataclass(frozen=True, slots=True)
class ResourceSupport:
    type: str
    search: tuple[SearchParam, ...]
    create: bool = False  # as an entry of a transaction Bundle (POST /fhir)

    def param(self, name: str) -> SearchParam | None:
        return next((p for p in self.search if p.name == name), None)


def _p(name: str, kind: str, doc: str) -> SearchParam:
    return SearchParam(name, kind, doc)


_LAST_UPDATED = _p("_lastUpdated", "date", "when the record last changed (meta.lastUpdated)")
_SUBJECT = _p("subject", "reference", "Patient/<participant id>")
_PATIENT = _p("patient", "reference", "Patient/<participant id> (or the id alone)")

SUPPORTED: tuple[ResourceSupport, ...] = (
    ResourceSupport(
        "ResearchStudy",
        (_p("identifier", "token", "the protocol code, PT-MSCs-EVS-2023-1"),),
    ),
    ResourceSupport(
        "ResearchSubject",
        (
            _PATIENT,
            _p("study", "reference", "ResearchStudy/PT-MSCs-EVS-2023-1"),
            _LAST_UPDATED,
        ),
    ),
    ResourceSupport(
        "Patient",
        (
            _p(
                "identifier",
                "token",
                "the study id (system .../sid/study-id), or the site's MRN with the site's"
                " system (site roles and admin only)",
            ),
            _LAST_UPDATED,
        ),
    ),
    ResourceSupport(
        "Observation",
        (
            _SUBJECT,
            _PATIENT,
            _p("code", "token", "a LOINC code of SPEC §7, or a score code"),
            _p("category", "token", "laboratory or survey"),
            _p("date", "date", "effective date/time"),
            _p("identifier", "token", "the identifier an ingested Observation carried"),
            _LAST_UPDATED,
        ),
        create=True,
    ),
    ResourceSupport(
        "Encounter", (_SUBJECT, _PATIENT, _p("date", "date", "the visit date"), _LAST_UPDATED)
    ),
    ResourceSupport(
        "MedicationAdministration",
        (
            _SUBJECT,
            _PATIENT,
            _p("effective-time", "date", "start of the infusion (planned day if not given)"),
            _LAST_UPDATED,
        ),
    ),
    ResourceSupport(
        "AdverseEvent",
        (
            _SUBJECT,
            _p("date", "date", "onset date"),
            _p("seriousness", "token", "Serious or Non-serious"),
            _p("study", "reference", "ResearchStudy/PT-MSCs-EVS-2023-1"),
            _LAST_UPDATED,
        ),
    ),
)
BY_TYPE = {r.type: r for r in SUPPORTED}
RESULT_PARAMETERS = ("_count", "_offset", "_format")


def capability_statement(base: str, software_version: str, released: date) -> CapabilityStatement:
    security = CapabilityStatementRestSecurity(
        service=[concept(SECURITY_SERVICE, "SMART-on-FHIR", "SMART-on-FHIR")],
        description=(
            "Bearer tokens: the service's API tokens, login tokens, or SMART Backend Services"
            " tokens (client_credentials with a private_key_jwt assertion, RS384/ES384) from"
            f" {TOKEN_PATH}; scopes system/*.rs and system/Observation.c"
        ),
        extension=[
            Extension(
                url=OAUTH_URIS,
                extension=[
                    Extension(url="token", valueUri=base.removesuffix("/fhir") + TOKEN_PATH)
                ],
            )
        ],
    )
    resources = [
        CapabilityStatementRestResource(
            type=r.type,
            interaction=[
                CapabilityStatementRestResourceInteraction(code=code)
                for code in ("read", "search-type", *(("create",) if r.create else ()))
            ],
            conditionalCreate=True if r.create else None,
            searchParam=[
                CapabilityStatementRestResourceSearchParam(
                    name=p.name, type=p.type, documentation=p.documentation
                )
                for p in r.search
            ],
        )
        for r in SUPPORTED
    ]
    return CapabilityStatement(
        text=narrative("FHIR R4 server of the PT-MSCs-EVS-2023-1 trial service"),
        status="active",
        date=released,
        kind="instance",
        software=CapabilityStatementSoftware(name="aclf-trial-service", version=software_version),
        implementation=CapabilityStatementImplementation(
            description="PT-MSCs-EVS-2023-1 trial service: FHIR R4 facade", url=base
        ),
        fhirVersion=FHIR_VERSION,
        format=["json"],
        rest=[
            CapabilityStatementRest(
                mode="server",
                security=security,
                resource=resources,
                interaction=[CapabilityStatementRestInteraction(code="transaction")],
            )
        ],
    )


def smart_configuration(origin: str) -> dict[str, object]:
    """SMART App Launch 2.x discovery (`/fhir/.well-known/smart-configuration`)."""
    return {
        "token_endpoint": origin + TOKEN_PATH,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": list(SCOPES_SUPPORTED),
        "capabilities": ["client-confidential-asymmetric"],
    }
