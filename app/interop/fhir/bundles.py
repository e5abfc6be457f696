"""Bundles (searchset, transaction-response) and OperationOutcome, with the FHIR error type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from fhir.resources.R4B.bundle import (
    Bundle,
    BundleEntry,
    BundleEntryResponse,
    BundleEntrySearch,
    BundleLink,
)
from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue
from fhir.resources.R4B.resource import Resource

from app.interop.fhir.common import narrative, utc

# OperationOutcome.issue.code by HTTP status, for errors that carry no FHIR-specific code
ISSUE_CODE_BY_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    408: "timeout",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    428: "required",
    429: "throttled",
    500: "exception",
    503: "transient",
}


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome issue; `expression` is a FHIRPath location such as
    `Bundle.entry[17].resource.valueQuantity.code`."""

    code: str  # issue-type: invalid, structure, required, value, invariant, code-invalid, ...
    diagnostics: str
    expression: str | None = None
    severity: str = "error"


class FhirError(Exception):
    """A refusal answered as an OperationOutcome with `status`."""

    def __init__(self, status: int, issues: Sequence[Issue]) -> None:
        super().__init__("; ".join(i.diagnostics for i in issues))
        self.status = status
        self.issues = list(issues)

    @classmethod
    def one(
        cls, status: int, code: str, diagnostics: str, expression: str | None = None
    ) -> FhirError:
        return cls(status, [Issue(code, diagnostics, expression)])


def operation_outcome(issues: Sequence[Issue]) -> OperationOutcome:
    return OperationOutcome(
        text=narrative("; ".join(i.diagnostics for i in issues)),
        issue=[
            OperationOutcomeIssue(
                severity=i.severity,
                code=i.code,
                diagnostics=i.diagnostics,
                expression=[i.expression] if i.expression else None,
            )
            for i in issues
        ],
    )


def outcome_for_status(status: int, diagnostics: Sequence[str]) -> OperationOutcome:
    code = ISSUE_CODE_BY_STATUS.get(status, "processing")
    severity = "fatal" if status >= 500 else "error"
    texts = list(diagnostics) or [f"HTTP {status}"]
    return operation_outcome([Issue(code, text, severity=severity) for text in texts])


@dataclass(frozen=True, slots=True)
class Page:
    """Where a searchset sits: its base URL, its parameters and the page."""

    url: str  # e.g. https://host/fhir/Observation
    params: tuple[tuple[str, str], ...]  # the parameters used (without _count/_offset)
    count: int
    offset: int
    total: int

    def link(self, offset: int) -> str:
        query = urlencode([*self.params, ("_count", str(self.count)), ("_offset", str(offset))])
        return f"{self.url}?{query}"


def searchset(base: str, resources: Sequence[Resource], page: Page) -> Bundle:
    links = [BundleLink(relation="self", url=page.link(page.offset))]
    if page.offset + page.count < page.total:
        links.append(BundleLink(relation="next", url=page.link(page.offset + page.count)))
    if page.offset > 0:
        previous = max(0, page.offset - page.count)
        links.append(BundleLink(relation="previous", url=page.link(previous)))
    return Bundle(
        type="searchset",
        total=page.total,
        link=links,
        entry=[
            BundleEntry(
                fullUrl=f"{base}/{r.get_resource_type()}/{r.id}",
                resource=r,
                search=BundleEntrySearch(mode="match"),
            )
            for r in resources
        ]
        or None,
    )


@dataclass(frozen=True, slots=True)
class EntryResult:
    """What one transaction entry did: created (201) or matched an existing resource (200)."""

    created: bool
    location: str  # Observation/<id>
    version: int
    last_modified: datetime
    note: str | None = None


def transaction_response(results: Sequence[EntryResult]) -> Bundle:
    entries = []
    for r in results:
        outcome = (
            operation_outcome([Issue("informational", r.note, severity="information")])
            if r.note
            else None
        )
        entries.append(
            BundleEntry(
                response=BundleEntryResponse(
                    status="201 Created" if r.created else "200 OK",
                    location=f"{r.location}/_history/{r.version}",
                    etag=f'W/"{r.version}"',
                    lastModified=utc(r.last_modified),
                    outcome=outcome,
                )
            )
        )
    return Bundle(type="transaction-response", entry=entries or None)
