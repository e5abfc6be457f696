"""HTTP routers, one per capability."""

from app.routers import (
    access,
    audit,
    calculators,
    exports,
    health,
    lab_results,
    outcomes,
    participants,
    randomization,
    reports,
    safety,
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
]
