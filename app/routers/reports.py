"""Trial reports (HTTP only): endpoints (JSON or CSV), Kaplan-Meier plot, CONSORT, safety."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
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
async def endpoints_report(
    session: SessionDep,
    _: ReportReader,
    accept: Annotated[str | None, Header(description="application/json or text/csv")] = None,
) -> EndpointsReportOut | Response:
    """SPEC §1 endpoints by randomized arm (ITT); `Accept: text/csv` for one row per arm and
    measure."""
    report = await service.endpoints(session)
    if accept and CSV in accept.lower():
        return Response(
            service.endpoints_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="endpoints.csv"'},
        )
    return report


@router.get(
    "/endpoints/km.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **error_responses(401, 403)},
)
async def kaplan_meier_plot(session: SessionDep, _: ReportReader) -> Response:
    """Kaplan-Meier overall survival per arm (step curves; censorings marked '+')."""
    cohort = await service.cohort(session)
    png = await run_in_threadpool(report_plots.km_png, cohort.records)
    return Response(png, media_type="image/png")


@router.get("/consort", responses=error_responses(401, 403))
async def consort_report(session: SessionDep, _: ReportReader) -> ConsortOut:
    """CONSORT flow counts: assessed, excluded with reasons, allocated, received, lost,
    discontinued, analysed (ITT)."""
    return await consort.consort(session)


@router.get("/safety", responses=error_responses(401, 403))
async def safety_report(session: SessionDep, _: ReportReader) -> SafetyReportOut:
    """Per arm: participants with an AE / SAE, events by CTCAE grade, SUSARs, deaths."""
    return await safety.safety(session)
