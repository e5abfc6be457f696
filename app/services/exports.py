"""CDISC exports (SPEC §11): the SDTM package and the ODM archive, each recorded and audited.

Both read the whole study inside the request's transaction. The transaction reads committed
data statement by statement (READ COMMITTED, owned by the middleware), so a change committed
between two of the export's queries could mix two states: the export notes the audit trail's
(row count, highest id) before and after reading and reads again when they differ (a change was
committed meanwhile), at most `READ_ATTEMPTS` times, then answers 503 to retry. The export
row (who, when, what, SHA-256 of the bytes sent) is written in the same transaction and
committed before the response leaves (the middleware commits first): an export the client
received is an export on record, audited by the usual trigger.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth import Principal
from app.db.models import AuditEntry, Export
from app.db.repositories import exports as repo
from app.domain.errors import FieldError
from app.interop.cdisc import odm, odm_tables, sdtm
from app.interop.cdisc.common import STUDYID
from app.interop.cdisc.errors import NotExportable
from app.interop.cdisc.standard import SDTMIG_VERSION
from app.interop.cdisc.terminology import CT_VERSION
from app.problems import ProblemError
from app.services import export_records

READ_ATTEMPTS = 3
ZIP = "application/zip"
XML = "application/xml"
SDTM_STANDARD = f"SDTMIG {SDTMIG_VERSION}, CDISC CT {CT_VERSION}, SAS XPT v5, Define-XML 2.1"
ODM_STANDARD = "CDISC ODM 1.3.2 (Transactional, Granularity All)"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Made:
    """A file an export made, before it is recorded."""

    kind: str
    standard: str
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class ExportFile:
    content: bytes
    filename: str
    media_type: str
    sha256: str
    export_id: str


async def sdtm_export(session: AsyncSession, principal: Principal) -> ExportFile:
    now = clock.utc_now()

    async def read(head: int) -> sdtm.SdtmPackage:
        study = await export_records.study(session, now, head)
        try:
            return await asyncio.to_thread(sdtm.package, study)
        except NotExportable as exc:
            raise _refusal(exc) from None

    package, head = await _consistent(session, read)
    made = Made("sdtm", SDTM_STANDARD, f"{_stem(now)}_sdtm.zip", ZIP, package.content)
    return await _record(session, principal, made, package.row_counts, head)


async def odm_export(session: AsyncSession, principal: Principal) -> ExportFile:
    now = clock.utc_now()

    async def read(head: int) -> tuple[bytes, dict[str, int]]:
        rows = await repo.audit_rows(session, tuple(odm_tables.TABLES), head)
        users = {
            str(u.id): odm.User(str(u.id), u.username, u.role, code)
            for u, code in await repo.users(session)
        }
        sites = await repo.sites(session)
        codes = {s.id: s.code for s in sites}
        participant_sites = {
            str(p.id): codes.get(p.site_id, "") for p in await repo.participants(session)
        }
        archive = odm.Archive(
            rows=[_audit_row(x) for x in rows],
            users=users,
            sites={s.code: s.name for s in sites},
            participant_sites=participant_sites,
            exported_at=now,
        )
        counts: dict[str, int] = {t: 0 for t in odm_tables.TABLES}
        for x in rows:
            counts[x.table_name] += 1
        return await asyncio.to_thread(odm.odm_xml, archive), counts

    (content, counts), head = await _consistent(session, read)
    made = Made("odm", ODM_STANDARD, f"{_stem(now)}_odm.xml", XML, content)
    return await _record(session, principal, made, counts, head)


async def _consistent(session: AsyncSession, read: Callable[[int], Awaitable[T]]) -> tuple[T, int]:
    """`read` the study between two equal audit-trail heads (no commit in between)."""
    for _ in range(READ_ATTEMPTS):
        before = await repo.audit_head(session)
        result = await read(before[1])
        if await repo.audit_head(session) == before:
            return result, before[1]
    raise ProblemError(
        503,
        "The trial data changed while the export was being read; retry",
        headers={"Retry-After": "1"},
    )


async def _record(
    session: AsyncSession, principal: Principal, made: Made, counts: dict[str, int], head: int
) -> ExportFile:
    digest = hashlib.sha256(made.content).hexdigest()
    export = await repo.record_export(
        session,
        Export(
            kind=made.kind,
            standard=made.standard,
            filename=made.filename,
            media_type=made.media_type,
            sha256=digest,
            size_bytes=len(made.content),
            row_counts=counts,
            audit_head_id=head,
            created_by=principal.user_id,
        ),
    )
    return ExportFile(made.content, made.filename, made.media_type, digest, str(export.id))


def _stem(now: datetime) -> str:
    return f"{STUDYID}_{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def _refusal(exc: NotExportable) -> ProblemError:
    errors = [
        FieldError(f"{p.table}/{p.record_id}/{p.field}".strip("/"), f"{p.why}: {p.value}")
        for p in exc.problems[:100]
    ]
    more = len(exc.problems) - len(errors)
    detail = (
        f"{len(exc.problems)} recorded value(s) cannot go into SDTM datasets (SAS XPT v5 holds "
        "printable ASCII only); correct them through the API (with a reason) and export again"
        + (f"; {more} more not listed" if more > 0 else "")
    )
    return ProblemError(409, detail, slug="not-exportable", errors=errors)


def _audit_row(x: AuditEntry) -> odm.AuditRow:
    return odm.AuditRow(
        id=x.id,
        occurred_at=x.occurred_at,
        actor_user_id=x.actor_user_id,
        actor_site=x.actor_site,
        db_user=x.db_user,
        reason=x.reason,
        table_name=x.table_name,
        record_id=x.record_id,
        participant_id=x.participant_id,
        action=x.action,
        old_values=x.old_values,
        new_values=x.new_values,
    )
