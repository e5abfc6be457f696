"""HTTP routers, one per capability."""

from app.routers import access, audit, calculators, health, participants

ROUTERS = [health.router, access.router, participants.router, calculators.router, audit.router]
