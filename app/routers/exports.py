"""CDISC exports (HTTP only): the SDTM package and the ODM archive, as attachments."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Response

from app.auth import Exporter
from app.deps import SessionDep
from app.problems import error_responses
from app.services import exports as service
from app.services.exports import ExportFile

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_HEADERS = {
    "Content-Disposition": {
        "description": "attachment; filename=PT-MSCs-EVS-2023-1_<UTC time>_<kind>.<ext>",
        "schema": {"type": "string"},
    },
    "Repr-Digest": {
        "description": "SHA-256 of the file (RFC 9530), as recorded in the export's audit row",
        "schema": {"type": "string"},
    },
    "X-Export-Id": {
        "description": "id of the export's record (table exports, audited)",
        "schema": {"type": "string"},
    },
}


def _attachment(export: ExportFile) -> Response:
    digest = base64.b64encode(bytes.fromhex(export.sha256)).decode()
    return Response(
        export.content,
        media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Repr-Digest": f"sha-256=:{digest}:",
            "X-Export-Id": export.export_id,
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/sdtm",
    operation_id="exportSdtm",
    summary="Export the study as CDISC SDTM (XPT v5 + define.xml)",
    response_class=Response,
    responses={
        200: {"content": {service.ZIP: _BINARY}, "headers": _HEADERS, "description": "the zip"},
        **error_responses(401, 403, 409, 503),
    },
)
async def export_sdtm(session: SessionDep, principal: Exporter) -> Response:
    """The study as CDISC SDTM (SDTMIG 3.4): a zip of SAS XPT v5 datasets (DM, DS, IE, EX,
    AE, LB, SV, QS, RS, DV, CM, PR, their SUPP-- datasets, TS, TA, TE, TV, TI) and
    define.xml (Define-XML 2.1). Statistician and admin only; every export is recorded
    (who, when, what, SHA-256) and audited. Voided records are left out. 409 names every
    record whose text cannot go into SAS XPT v5 (printable ASCII only). docs/sdtm.md maps
    every variable to its origin."""
    return _attachment(await service.sdtm_export(session, principal))


@router.get(
    "/odm",
    operation_id="exportOdm",
    summary="Export the study as CDISC ODM 1.3.2 with audit records",
    response_class=Response,
    responses={
        200: {"content": {service.XML: _BINARY}, "headers": _HEADERS, "description": "ODM XML"},
        **error_responses(401, 403, 503),
    },
)
async def export_odm(session: SessionDep, principal: Exporter) -> Response:
    """The whole study as CDISC ODM 1.3.2 (Transactional, Granularity All): the metadata,
    AdminData (users, locations) and ClinicalData with every audited change of every
    participant's records, each with its audit record (who, where, when, why). Statistician
    and admin only; every export is recorded and audited."""
    return _attachment(await service.odm_export(session, principal))
