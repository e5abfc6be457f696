"""Trial reports (HTTP only): endpoints (JSON or CSV), Kaplan-Meier plot, CONSORT, safety."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.auth import ReportReader
from app.deps import SessionDep
from app.problems import error_responses
from app.schemas.reports import ConsortOut, EndpointsReportOut, SafetyReportOut
from app.services import consort, report_plots
from app.services import reports as service
from app.services import safety_report as safety

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
CSV = "text/csv"


@router.get(
    "/endpoints",
    response_model=EndpointsReportOut,
    responses={
        200: {"content": {CSV: {"schema": {"type": "string"}}}},
        **error_responses(401, 403),
    },
)
async def get_endpoints_report(
    session: SessionDep,
    _: ReportReader,
    request: Request,
) -> EndpointsReportOut | Response:
    """SPEC §1 endpoints by randomized arm (ITT).

    Content negotiation: `Accept: text/csv` answers one CSV row per arm and measure
    (`text/csv`, as an attachment); any other Accept answers JSON."""
    report = await service.endpoints(session)
    if CSV in request.headers.get("accept", "").lower():
        return Response(
            service.endpoints_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="endpoints.csv"'},
        )
    return report


@router.get(
    "/endpoints/km.png",
    response_class=Response,
    responses={
        200: {
            "description": "The plot as a PNG image",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        },
        **error_responses(401, 403),
    },
)
async def get_kaplan_meier_plot(session: SessionDep, _: ReportReader) -> Response:
    """Kaplan-Meier overall survival per arm (step curves; censorings marked '+')."""
    cohort = await service.cohort(session)
    png = await run_in_threadpool(report_plots.km_png, cohort.records)
    return Response(png, media_type="image/png")


@router.get("/consort", responses=error_responses(401, 403))
async def get_consort_report(session: SessionDep, _: ReportReader) -> ConsortOut:
    """CONSORT flow counts: assessed, excluded with reasons, allocated, received, lost,
    discontinued, analysed (ITT)."""
    return await consort.consort(session)


@router.get("/safety", responses=error_responses(401, 403))
async def get_safety_report(session: SessionDep, _: ReportReader) -> SafetyReportOut:
    """Per arm: participants with an AE / SAE, events by CTCAE grade, SUSARs, deaths."""
    return await safety.safety(session)
