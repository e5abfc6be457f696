"""HTTP routers, one per capability."""

from app.routers import (
    access,
    audit,
    calculators,
    health,
    outcomes,
    participants,
    randomization,
    reports,
    safety,
    treatment,
    voiding,
)

ROUTERS = [
    health.router,
    access.router,
    participants.router,
    calculators.router,
    randomization.router,
    treatment.router,
    outcomes.router,
    safety.router,
    reports.router,
    voiding.router,
    audit.router,
]
