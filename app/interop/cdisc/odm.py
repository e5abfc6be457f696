"""The ODM 1.3.2 archive of the whole study: every audited change to a participant's records.

A Transactional file of Granularity All, built from the audit trail (audit.trail) in the
order of its ids: one SubjectData per participant (SubjectKey = study id, the participants
INSERT as its AuditRecord), one common StudyEvent, one FormData per record type, and one
ItemGroupData per audited change of a record (ItemGroupRepeatKey = the record's id, repeated
for each change, oldest first): Insert with the record's values, Update with the values that
changed (IsNull for a value that was removed), Remove for a void. Each carries an AuditRecord:
who (UserRef to AdminData: the user, or the database role of a change made by direct SQL),
where (LocationRef: the user's site, or the central service for global roles), when (the
database clock, UTC), why (ReasonForChange: the reason given) and SourceID audit_log:<id>,
which ties the file to the hash-chained trail. Voided records are therefore in this archive,
as removals, while the SDTM datasets leave them out.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from app.interop.cdisc.common import STUDYID
from app.interop.cdisc.odm_tables import BOOLEAN, DATETIME, FLOAT, JSON, TABLES, odm_type, oid
from app.interop.cdisc.xml import ODM_NAMESPACES, reference_errors, schema_errors, serialize

STUDY_OID = f"ST.{STUDYID}"
MDV_OID = "MDV.TRIAL-SERVICE.1"
EVENT_OID = "SE.TRIAL"
CENTRAL = "LOC.CENTRAL"
_TRANSACTIONS = {"INSERT": "Insert", "UPDATE": "Update", "VOID": "Remove"}
_USER_TYPES = {
    "investigator": "Investigator",
    "coordinator": "Investigator",
    "integration": "Other",
}


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    occurred_at: datetime
    actor_user_id: str | None
    actor_site: str | None
    db_user: str
    reason: str | None
    table_name: str
    record_id: str
    participant_id: str | None
    action: str  # INSERT | UPDATE | VOID
    old_values: Mapping[str, Any] | None
    new_values: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    role: str
    site_code: str | None


@dataclass(frozen=True, slots=True)
class Archive:
    rows: Sequence[AuditRow]  # the trail of the clinical tables, by id
    users: Mapping[str, User]  # by id
    sites: Mapping[str, str]  # code -> name
    participant_sites: Mapping[str, str]  # participant id -> site code
    exported_at: datetime


class OdmDefect(Exception):
    """The archive is not valid ODM 1.3.2 (a bug of the export, never the data's fault)."""


def odm_xml(archive: Archive) -> bytes:
    """The archive as ODM XML, valid against the ODM 1.3.2 schema and odmlib's checks."""
    document = build_odm(archive)
    xml = serialize(document, ODM_NAMESPACES)
    errors = schema_errors(xml, "odm", "1.3.2") + reference_errors(document, "odm_1_3_2")
    if errors:
        raise OdmDefect("; ".join(errors[:10]))
    return xml


def build_odm(archive: Archive) -> Any:
    import odmlib.odm_1_3_2.model as ODM

    first = min((r.occurred_at for r in archive.rows), default=archive.exported_at)
    admin = _admin(ODM, archive, first.date())
    clinical = ODM.ClinicalData(StudyOID=STUDY_OID, MetaDataVersionOID=MDV_OID)
    clinical.SubjectData = _subjects(ODM, archive)
    stamp = archive.exported_at.astimezone(UTC).isoformat(timespec="seconds")
    kw: dict[str, Any] = {
        "FileOID": f"ODM.{STUDYID}.{archive.exported_at.strftime('%Y%m%dT%H%M%S')}",
        "FileType": "Transactional",
        "Granularity": "All",
        "CreationDateTime": stamp,
        "ODMVersion": "1.3.2",
        "Originator": "ACLF exosome trial service",
        "SourceSystem": "aclf-trial-service",
        "SourceSystemVersion": "1.0.0",
    }
    if archive.rows:
        kw["AsOfDateTime"] = _instant(archive.rows[-1].occurred_at)
    return ODM.ODM(**kw, Study=[_study(ODM)], AdminData=[admin], ClinicalData=[clinical])


def _tt(ODM: Any, text: str) -> Any:
    return ODM.Description(TranslatedText=[ODM.TranslatedText(_content=text, lang="en")])


def _study(ODM: Any) -> Any:
    mdv = ODM.MetaDataVersion(
        OID=MDV_OID,
        Name="Trial service data model",
        Description="The audited clinical records of the ACLF exosome trial service",
    )
    mdv.Protocol = ODM.Protocol(
        StudyEventRef=[ODM.StudyEventRef(StudyEventOID=EVENT_OID, OrderNumber=1, Mandatory="Yes")]
    )
    mdv.StudyEventDef = [
        ODM.StudyEventDef(
            OID=EVENT_OID, Name="Trial", Repeating="No", Type="Common",
            FormRef=[
                ODM.FormRef(FormOID=_form(t), OrderNumber=i, Mandatory="No")
                for i, t in enumerate(TABLES, start=1)
            ],
        )
    ]  # fmt: skip
    mdv.FormDef = [
        ODM.FormDef(
            OID=_form(t), Name=name, Repeating="No",
            ItemGroupRef=[ODM.ItemGroupRef(ItemGroupOID=oid(t), Mandatory="No")],
        )
        for t, (name, _) in TABLES.items()
    ]  # fmt: skip
    mdv.ItemGroupDef = [
        ODM.ItemGroupDef(
            OID=oid(t), Name=t, Repeating="Yes",
            ItemRef=[ODM.ItemRef(ItemOID=oid(t, c), Mandatory="No") for c in columns],
        )
        for t, (_, columns) in TABLES.items()
    ]  # fmt: skip
    mdv.ItemDef = [
        ODM.ItemDef(OID=oid(t, c), Name=f"{t}.{c}", DataType=odm_type(kind))
        for t, (_, columns) in TABLES.items()
        for c, kind in columns.items()
    ]
    study = ODM.Study(OID=STUDY_OID)
    study.GlobalVariables = ODM.GlobalVariables(
        StudyName=ODM.StudyName(_content=STUDYID),
        StudyDescription=ODM.StudyDescription(
            _content="PT-MSCs Exosome Injection in acute-on-chronic liver failure"
        ),
        ProtocolName=ODM.ProtocolName(_content=STUDYID),
    )
    study.MetaDataVersion = [mdv]
    return study


def _form(table: str) -> str:
    return f"FO.{table.upper()}"


def _admin(ODM: Any, archive: Archive, effective: date) -> Any:
    refs = [
        ODM.MetaDataVersionRef(
            StudyOID=STUDY_OID, MetaDataVersionOID=MDV_OID, EffectiveDate=effective.isoformat()
        )
    ]
    locations = [
        ODM.Location(
            OID=CENTRAL,
            Name="Central trial service",
            LocationType="Sponsor",
            MetaDataVersionRef=refs,
        )
    ]
    locations += [
        ODM.Location(OID=f"LOC.{code}", Name=name, LocationType="Site", MetaDataVersionRef=refs)
        for code, name in sorted(archive.sites.items())
    ]
    users = []
    for key in sorted({_user_key(r) for r in archive.rows}):
        user = archive.users.get(key)
        kw: dict[str, Any] = {"OID": f"USR.{key}", "UserType": "Other"}
        if user is not None:
            kw["UserType"] = _USER_TYPES.get(user.role, "Sponsor")
        entry = ODM.User(**kw)
        login = user.username if user else key.removeprefix("DB.")
        entry.LoginName = ODM.LoginName(_content=login)
        role = user.role if user else "direct database change"
        entry.DisplayName = ODM.DisplayName(_content=f"{login} ({role})")
        if user is not None and user.site_code in archive.sites:
            entry.LocationRef = [ODM.LocationRef(LocationOID=f"LOC.{user.site_code}")]
        users.append(entry)
    return ODM.AdminData(StudyOID=STUDY_OID, User=users, Location=locations)


def _user_key(row: AuditRow) -> str:
    return row.actor_user_id or f"DB.{row.db_user}"


def _audit(ODM: Any, row: AuditRow, reason: str | None) -> Any:
    site = row.actor_site
    kw: dict[str, Any] = {
        "UserRef": ODM.UserRef(UserOID=f"USR.{_user_key(row)}"),
        "LocationRef": ODM.LocationRef(LocationOID=f"LOC.{site}" if site else CENTRAL),
        "DateTimeStamp": ODM.DateTimeStamp(_content=_instant(row.occurred_at)),
    }
    if reason:
        kw["ReasonForChange"] = ODM.ReasonForChange(_content=reason)
    kw["SourceID"] = ODM.SourceID(_content=f"audit_log:{row.id}")
    return ODM.AuditRecord(**kw)


def _subjects(ODM: Any, archive: Archive) -> list[Any]:
    by_participant: dict[str, list[AuditRow]] = defaultdict(list)
    for row in archive.rows:
        if row.participant_id and row.table_name in TABLES:
            by_participant[row.participant_id].append(row)
    subjects = []
    for participant, changes in by_participant.items():
        enrolment = next(
            (r for r in changes if r.table_name == "participants" and r.action == "INSERT"), None
        )
        if enrolment is None or enrolment.new_values is None:
            continue  # a participant's records without the participant: not in this trail
        subject = ODM.SubjectData(
            SubjectKey=str(enrolment.new_values.get("study_id")),
            TransactionType="Insert",
            AuditRecord=_audit(ODM, enrolment, enrolment.reason),
        )
        site = archive.participant_sites.get(participant)
        if site in archive.sites:
            subject.SiteRef = ODM.SiteRef(LocationOID=f"LOC.{site}")
        forms = []
        for table in TABLES:
            groups = [_group(ODM, r) for r in changes if r.table_name == table]
            if groups:
                forms.append(ODM.FormData(FormOID=_form(table), ItemGroupData=groups))
        subject.StudyEventData = [ODM.StudyEventData(StudyEventOID=EVENT_OID, FormData=forms)]
        subjects.append(subject)
    subjects.sort(key=lambda s: s.SubjectKey)
    return subjects


def _group(ODM: Any, row: AuditRow) -> Any:
    transaction = _TRANSACTIONS.get(row.action, "Update")
    new = row.new_values or {}
    reason = row.reason
    if transaction == "Remove":
        reason = reason or (str(new.get("void_reason")) if new.get("void_reason") else None)
    group = ODM.ItemGroupData(
        ItemGroupOID=oid(row.table_name),
        ItemGroupRepeatKey=row.record_id,
        TransactionType=transaction,
        AuditRecord=_audit(ODM, row, reason),
    )
    if transaction != "Remove":
        group.ItemData = _items(ODM, row.table_name, row.old_values, new)
    return group


def _items(
    ODM: Any, table: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> list[Any]:
    items = []
    for column, kind in TABLES[table][1].items():
        value = new.get(column)
        if old is not None and old.get(column) == value:
            continue  # an update carries what changed
        if value is None:
            if old is not None and old.get(column) is not None:
                items.append(ODM.ItemData(ItemOID=oid(table, column), IsNull="Yes"))
            continue
        items.append(ODM.ItemData(ItemOID=oid(table, column), Value=_text(value, kind)))
    return items


def _text(value: Any, kind: str) -> str:
    if kind == JSON:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if kind == BOOLEAN:
        return "true" if value else "false"
    if kind == DATETIME:
        return _instant(datetime.fromisoformat(str(value)))
    if kind == FLOAT:
        return f"{Decimal(str(value)).normalize():f}"
    return str(value)


def _instant(moment: datetime) -> str:
    """UTC ISO 8601 with the zone (the database clock): 2026-12-02T09:15:00.123456Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
