"""HTTP routers, one per capability."""

from app.routers import (
    access,
    audit,
    calculators,
    exports,
    fhir,
    health,
    lab_results,
    outcomes,
    participants,
    randomization,
    reports,
    safety,
    smart,
    treatment,
    treatments,
    voiding,
)

ROUTERS = [
    health.router,
    access.router,
    participants.router,
    calculators.router,
    randomization.router,
    treatment.router,
    lab_results.router,
    treatments.router,
    outcomes.router,
    safety.router,
    reports.router,
    exports.router,
    voiding.router,
    audit.router,
    smart.router,
    fhir.router,
]
