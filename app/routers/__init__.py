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
    audit.router,
]
