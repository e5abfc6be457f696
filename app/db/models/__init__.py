"""All tables; importing this module registers every model on `Base.metadata`."""

from app.db.models.access import ApiToken, Site, User
from app.db.models.audit import AuditChainLink, AuditEntry, IdempotencyRecord
from app.db.models.base import Base
from app.db.models.participants import Consent, Participant, Screening

__all__ = [
    "ApiToken",
    "AuditChainLink",
    "AuditEntry",
    "Base",
    "Consent",
    "IdempotencyRecord",
    "Participant",
    "Screening",
    "Site",
    "User",
]
