"""Who is calling and what they may do: principals and role dependencies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer

from app.interop import smart
from app.problems import ProblemError

ROLES = ("admin", "investigator", "coordinator", "monitor", "statistician", "dsmb", "integration")
SITE_BOUND_ROLES = frozenset({"investigator", "coordinator", "integration"})

# Role policies: the single table the role matrix is tested against.
ANY_ROLE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
CLINICAL_WRITERS = frozenset({"investigator", "coordinator", "integration"})
RANDOMIZERS = frozenset({"investigator", "coordinator"})
PARTICIPANT_READERS = frozenset(
    {"admin", "investigator", "coordinator", "integration", "monitor", "statistician"}
)
AUDIT_READERS = frozenset({"admin", "monitor"})
ALLOCATION_ADMINS = frozenset({"admin", "statistician"})
REPORT_READERS = frozenset({"admin", "statistician", "dsmb", "monitor"})
EXPORTERS = frozenset({"admin", "statistician"})  # CDISC exports: participant-level, all sites
OUTCOME_WRITERS = frozenset({"investigator", "coordinator"})
SAFETY_WRITERS = CLINICAL_WRITERS
SAFETY_READERS = PARTICIPANT_READERS
# data management (SPEC §13)
CASEBOOK_LOCKERS = frozenset({"admin", "monitor"})
DATA_REVIEWERS = frozenset({"admin", "monitor"})  # raise, close and re-open queries
SDV_MARKERS = frozenset({"monitor"})
SIGNERS = frozenset({"investigator"})
QUERY_RESPONDERS = frozenset({"investigator", "coordinator", "integration"})

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    username: str
    role: str
    site_id: uuid.UUID | None
    site_code: str | None
    token_id: uuid.UUID | None = None  # the bearer token of this request (logout revokes it)
    # SMART scopes of a client-credentials token (SPEC §10.4); None: not scope-limited
    scopes: frozenset[str] | None = None

    @property
    def site_bound(self) -> bool:
        return self.role in SITE_BOUND_ROLES

    def can_see_site(self, site_id: uuid.UUID) -> bool:
        return not self.site_bound or self.site_id == site_id


def _principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise ProblemError(
            401,
            "A valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require(roles: frozenset[str]):  # type: ignore[no-untyped-def]
    """A dependency admitting only `roles` (401 without a valid token, 403 otherwise).

    The roles travel into the OpenAPI document as the security requirement's list (OpenAPI
    3.1 allows role names there); app/contract/document.py states them on each operation."""

    token = Security(oauth2_scheme, scopes=sorted(roles))

    async def dependency(request: Request, _token: str | None = token) -> Principal:
        principal = _principal(request)
        if principal.role not in roles:
            raise ProblemError(403, f"Role '{principal.role}' may not perform this action")
        if principal.scopes is not None:
            raise ProblemError(403, "A client-credentials token is for the FHIR API (/fhir) only")
        return principal

    return Depends(dependency)


def require_scoped(roles: frozenset[str], resource_type: str, interaction: str):  # type: ignore[no-untyped-def]
    """A FHIR dependency: `roles`, and for a client-credentials token a SMART scope that
    allows `interaction` (read, search, create) on `resource_type` (403 otherwise)."""

    async def dependency(
        request: Request, _token: Annotated[str | None, Depends(oauth2_scheme)]
    ) -> Principal:
        principal = _principal(request)
        if principal.role not in roles:
            raise ProblemError(403, f"Role '{principal.role}' may not perform this action")
        if principal.scopes is not None and not smart.permits(
            principal.scopes, resource_type, interaction
        ):
            granted = " ".join(sorted(principal.scopes))
            raise ProblemError(
                403, f"The token's scopes ({granted}) do not allow {interaction} of {resource_type}"
            )
        return principal

    return Depends(dependency)


AnyUser = Annotated[Principal, require(ANY_ROLE)]
Admin = Annotated[Principal, require(ADMIN)]
ClinicalWriter = Annotated[Principal, require(CLINICAL_WRITERS)]
Randomizer = Annotated[Principal, require(RANDOMIZERS)]
ParticipantReader = Annotated[Principal, require(PARTICIPANT_READERS)]
AuditReader = Annotated[Principal, require(AUDIT_READERS)]
AllocationAdmin = Annotated[Principal, require(ALLOCATION_ADMINS)]
ReportReader = Annotated[Principal, require(REPORT_READERS)]
Exporter = Annotated[Principal, require(EXPORTERS)]
OutcomeWriter = Annotated[Principal, require(OUTCOME_WRITERS)]
SafetyWriter = Annotated[Principal, require(SAFETY_WRITERS)]
SafetyReader = Annotated[Principal, require(SAFETY_READERS)]
CasebookLocker = Annotated[Principal, require(CASEBOOK_LOCKERS)]
DataReviewer = Annotated[Principal, require(DATA_REVIEWERS)]
SdvMarker = Annotated[Principal, require(SDV_MARKERS)]
Signer = Annotated[Principal, require(SIGNERS)]
QueryResponder = Annotated[Principal, require(QUERY_RESPONDERS)]
