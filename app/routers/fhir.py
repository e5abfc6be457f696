"""HL7 FHIR R4 at /fhir (HTTP only): metadata, read and search of the resources of SPEC §10,
and the lab transaction. Same tokens, roles and site isolation as /api/v1; SMART scopes for
client-credentials tokens. Routes come from the one table of app/interop/fhir/capability.py,
which the CapabilityStatement also lists. Not in the OpenAPI document: the FHIR contract is
the CapabilityStatement (docs/fhir.md).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.auth import ANY_ROLE, CLINICAL_WRITERS, PARTICIPANT_READERS, Principal, require_scoped
from app.deps import SessionDep
from app.fhir_http import resource_response
from app.interop.fhir.bundles import FhirError, Page, searchset, transaction_response
from app.interop.fhir.capability import SUPPORTED, ResourceSupport, capability_statement
from app.interop.fhir.capability import smart_configuration as smart_discovery
from app.interop.fhir.search import parse_search
from app.interop.fhir.terminology import FHIR_JSON
from app.services import fhir as service
from app.services import fhir_ingest
from app.settings import get_settings

router = APIRouter(prefix="/fhir", include_in_schema=False)
RELEASED = date(2026, 12, 2)
ACCEPTED_BODIES = ("application/fhir+json", "application/json")


def fhir_base(request: Request) -> str:
    origin = get_settings().public_base_url or str(request.base_url).rstrip("/")
    return origin + "/fhir"


@router.get("/metadata")
async def metadata(request: Request) -> Response:
    """The CapabilityStatement (no token needed, as FHIR and SMART expect)."""
    version = request.app.version
    return resource_response(capability_statement(fhir_base(request), version, RELEASED))


@router.get("/.well-known/smart-configuration")
async def smart_configuration(request: Request) -> Response:
    origin = fhir_base(request).removesuffix("/fhir")
    return JSONResponse(smart_discovery(origin))


@router.post("")
async def transaction(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require_scoped(CLINICAL_WRITERS, "Observation", "create")],
) -> Response:
    """A transaction Bundle of lab Observations: all written, or none (OperationOutcome)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ACCEPTED_BODIES:
        raise FhirError.one(415, "not-supported", f"send {FHIR_JSON}, not {content_type!r}")
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise FhirError.one(400, "structure", "the body is not JSON") from None
    results = await fhir_ingest.ingest(
        session, principal, body, get_settings().fhir_max_bundle_entries
    )
    return resource_response(transaction_response(results))


def _lenient(request: Request) -> bool:
    return "handling=lenient" in request.headers.get("prefer", "").replace(" ", "")


def _register(support: ResourceSupport) -> None:
    reader, searcher = service.OPERATIONS[support.type]
    roles = ANY_ROLE if support.type == "ResearchStudy" else PARTICIPANT_READERS
    kind = support.type
    # Depends as default values: an Annotated[...] naming these closure variables would be a
    # postponed (string) annotation that FastAPI cannot resolve
    may_search = require_scoped(roles, kind, "search")
    may_read = require_scoped(roles, kind, "read")

    async def search(
        request: Request,
        session: SessionDep,
        principal: Principal = may_search,
    ) -> Response:
        query = parse_search(
            kind,
            request.query_params.multi_items(),
            max_count=get_settings().max_page_size,
            lenient=_lenient(request),
        )
        found = await searcher(session, principal, query)
        base = fhir_base(request)
        page = Page(f"{base}/{kind}", query.used, query.count, query.offset, found.total)
        return resource_response(searchset(base, found.resources, page))

    async def read(
        resource_id: str,
        request: Request,
        session: SessionDep,
        principal: Principal = may_read,
    ) -> Response:
        resource = await reader(session, principal, resource_id)
        version = resource.meta.versionId if resource.meta else None
        headers = {"ETag": f'W/"{version}"'} if version else {}
        match = request.headers.get("if-none-match", "").removeprefix("W/")
        if version and match.strip('"') == version:
            return Response(status_code=304, headers=headers)
        return resource_response(resource, headers=headers)

    router.add_api_route(f"/{kind}", search, methods=["GET"], name=f"search{kind}")
    router.add_api_route(f"/{kind}/{{resource_id}}", read, methods=["GET"], name=f"read{kind}")


for _support in SUPPORTED:
    _register(_support)
