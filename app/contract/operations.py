"""What the generated document cannot know about each operation: one line per operation.

Keyed by operationId (the endpoint function's name in camelCase, or its explicit
`operation_id`). `read`: a single read that sends an ETag and answers 304 to a matching
If-None-Match; `etag`: a write whose success carries the record's new ETag; `location`: a
create whose 201 carries Location. Everything else (roles, If-Match, statuses) is derived
from the routes themselves (app/contract/document.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Declared:
    summary: str
    read: bool = False
    etag: bool = False
    location: bool = False


def _read(summary: str) -> Declared:
    return Declared(summary, read=True)


def _write(summary: str) -> Declared:
    return Declared(summary, etag=True)


def _create(summary: str) -> Declared:
    return Declared(summary, etag=True, location=True)


OPERATIONS: dict[str, Declared] = {
    # health and access
    "getHealth": Declared("Liveness"),
    "getReadiness": Declared("Readiness: database reachable, migrations at head"),
    "login": Declared("Log in (OAuth2 password form) for a bearer token"),
    "logout": Declared("Revoke the bearer token of this request"),
    "requestClientToken": Declared("Client-credentials token for the FHIR API"),
    "createSite": Declared("Create a site"),
    "listSites": Declared("List sites"),
    "getSite": _read("Read a site"),
    "updateSite": _write("Set or change a site's MRN identifier system"),
    "createUser": Declared("Create a user"),
    "listUsers": Declared("List users"),
    "getUser": _read("Read a user"),
    "updateUser": _write("Change a user's role, site or active flag"),
    "listTokens": Declared("List a user's API tokens"),
    "createToken": Declared("Create an API token for a user"),
    "revokeToken": Declared("Revoke an API token"),
    "createIntegrationClient": Declared("Register a client-credentials integration"),
    "listIntegrationClients": Declared("List integration clients"),
    "getIntegrationClient": _read("Read an integration client"),
    "deactivateIntegrationClient": Declared("Deactivate an integration client"),
    # participants
    "createParticipant": _create("Enrol a participant"),
    "listParticipants": Declared("List participants"),
    "getParticipant": _read("Read a participant"),
    "correctParticipant": _write("Correct a participant's date of birth or sex"),
    "screenParticipant": Declared("Screen a participant (eligibility decision)"),
    "listParticipantScreenings": Declared("List a participant's screenings"),
    "listScreenings": Declared("List screening decisions"),
    "recordConsent": Declared("Record informed consent"),
    # randomization
    "createRandomizationList": Declared("Generate the allocation list"),
    "listRandomizationLists": Declared("List allocation lists"),
    "getRandomizationList": Declared("Read an allocation list"),
    "listRandomizationSlots": Declared("List an allocation list's slots"),
    "verifyRandomizationList": Declared("Verify an allocation list against its commitment"),
    "deactivateRandomizationList": Declared("Retire the active allocation list"),
    "randomizeParticipant": Declared("Randomize a participant"),
    "getRandomization": Declared("Read a participant's allocation"),
    # treatment and follow-up
    "listDoses": Declared("List a participant's doses"),
    "recordDose": _create("Record a dose"),
    "getDose": _read("Read a dose"),
    "correctDose": _write("Correct a dose"),
    "voidDose": _write("Void a dose"),
    "getDosingSchedule": Declared("Dosing schedule and next dose"),
    "listVisits": Declared("Visit schedule and recorded visits"),
    "recordVisit": _create("Record a follow-up visit"),
    "getVisit": _read("Read a visit"),
    "correctVisit": _write("Correct a visit"),
    "voidVisit": _write("Void a visit"),
    "listScores": Declared("Scores over time with change from baseline"),
    "listProtocolDeviations": Declared("List protocol deviations"),
    "listLabResults": Declared("List a participant's lab results"),
    "recordLabResult": _create("Record a lab result"),
    "getLabResult": _read("Read a lab result"),
    "correctLabResult": _write("Correct a lab result"),
    "voidLabResult": _write("Void a lab result"),
    "listTreatments": Declared("List a participant's standard treatments"),
    "recordTreatment": _create("Record a standard treatment"),
    "getTreatment": _read("Read a standard treatment"),
    "correctTreatment": _write("Correct a standard treatment"),
    "voidTreatment": _write("Void a standard treatment"),
    "listOutcomes": Declared("List a participant's outcomes"),
    "recordOutcome": Declared("Record an outcome (death, transplant, withdrawal, ...)"),
    # safety
    "recordAdverseEvent": _create("Record an adverse event"),
    "listParticipantAdverseEvents": Declared("List a participant's adverse events"),
    "getAdverseEvent": _read("Read an adverse event"),
    "followUpAdverseEvent": _write("Follow up an adverse event"),
    "recordSponsorReport": _write("Record that the sponsor was notified"),
    "voidAdverseEvent": _write("Void an adverse event"),
    "listAdverseEvents": Declared("List adverse events across participants"),
    # calculators, reports, audit, exports
    "calculateCosshAclf": Declared("Calculate COSSH-ACLF II"),
    "calculateChildPugh": Declared("Calculate Child-Pugh"),
    "calculateSymptomScore": Declared("Calculate the clinical symptom score"),
    "getEndpointsReport": Declared("Endpoints by arm (JSON or CSV)"),
    "getKaplanMeierPlot": Declared("Kaplan-Meier plot (PNG)"),
    "getConsortReport": Declared("CONSORT flow counts"),
    "getSafetyReport": Declared("Safety by arm"),
    "listAuditTrail": Declared("Read the audit trail"),
    "verifyAuditChain": Declared("Verify the audit hash chains"),
    "exportSdtm": Declared("Export SDTM (XPT v5 and Define-XML)"),
    "exportOdm": Declared("Export ODM 1.3.2 with audit records"),
    # sync
    "listChanges": Declared("Changes since a cursor (sync)"),
    # webhooks (SPEC §12)
    "createWebhook": Declared("Subscribe a receiver to events", location=True),
    "listWebhooks": Declared("List webhook subscriptions"),
    "getWebhook": _read("Read a webhook subscription"),
    "deactivateWebhook": Declared("Deactivate a webhook subscription"),
    "listWebhookDeliveries": Declared("List a subscription's deliveries"),
    # data management (SPEC §13)
    "studyLockState": Declared("Read the study lock"),
    "lockStudy": Declared("Lock the study for the final analysis"),
    "unlockStudy": Declared("Unlock the study"),
    "casebookLockState": Declared("Read a casebook's lock"),
    "lockCasebook": Declared("Lock a signed casebook"),
    "unlockCasebook": Declared("Unlock a casebook"),
    "signCasebook": Declared("Sign a casebook (password re-entered)"),
    "listSignatures": Declared("List a casebook's signatures"),
    "raiseQuery": Declared("Raise a data query", location=True),
    "listQueries": Declared("List data queries"),
    "getQuery": Declared("Read a data query"),
    "answerQuery": Declared("Answer a data query"),
    "closeQuery": Declared("Close a data query"),
    "reopenQuery": Declared("Re-open a data query"),
    "verifyRecord": Declared("Mark a record source-verified"),
    "sdvStatus": Declared("Source data verification of a participant"),
}
