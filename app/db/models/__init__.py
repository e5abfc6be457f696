"""All tables; importing this module registers every model on `Base.metadata`."""

from app.db.models.access import ApiToken, LoginThrottle, Site, User
from app.db.models.audit import AuditChainLink, AuditEntry, AuditTrail, IdempotencyRecord
from app.db.models.base import Base
from app.db.models.data_management import (
    CasebookLock,
    DataQuery,
    QueryMessage,
    SdvMark,
    Signature,
    StudyLock,
)
from app.db.models.exports import Export
from app.db.models.integration import ClientAssertionJti, IntegrationClient
from app.db.models.labs import LabResult, Treatment
from app.db.models.participants import Consent, Participant, Screening
from app.db.models.randomization import AllocationList, AllocationSlot, Outcome, Randomization
from app.db.models.safety import AdverseEvent
from app.db.models.treatment import Dose, ProtocolDeviation, Visit
from app.db.models.webhooks import WebhookDelivery, WebhookEvent, WebhookSubscription

__all__ = [
    "CasebookLock",
    "DataQuery",
    "QueryMessage",
    "SdvMark",
    "Signature",
    "StudyLock",
    "AdverseEvent",
    "AllocationList",
    "AllocationSlot",
    "Dose",
    "Export",
    "LabResult",
    "Treatment",
    "Outcome",
    "ProtocolDeviation",
    "Randomization",
    "Visit",
    "ApiToken",
    "AuditChainLink",
    "AuditEntry",
    "AuditTrail",
    "ClientAssertionJti",
    "IntegrationClient",
    "Base",
    "Consent",
    "IdempotencyRecord",
    "LoginThrottle",
    "Participant",
    "Screening",
    "Site",
    "User",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
]
