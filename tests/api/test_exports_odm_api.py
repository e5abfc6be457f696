"""ODM export over HTTP (SPEC §11), who may export, and what refuses an SDTM export: the
seeded trial (tests/api/cdisc_trial.py) as an ODM 1.3.2 archive validated with lxml and odmlib
and matched to the audit trail row by row.
"""

from __future__ import annotations

import uuid

import pytest

from tests.api.cdisc_checks import ODM_NS, odmlib_errors, xsd_errors
from tests.api.cdisc_trial import ADMIN, Trial
from tests.helpers import make_actor


@pytest.fixture(scope="module")
async def odm(cdisc_trial: Trial, cdisc_statistician):
    from lxml import etree

    r = await cdisc_trial.iso.client.get("/api/v1/exports/odm", headers=cdisc_statistician.headers)
    assert r.status_code == 200, r.text
    return r, etree.fromstring(r.content)


async def test_the_odm_archive_is_valid_odm_1_3_2(odm):
    response, _ = odm
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["content-disposition"].endswith('_odm.xml"')
    assert xsd_errors(response.content, "odm", "1.3.2") == []
    assert odmlib_errors(response.content, "odm_1_3_2", "odm_1_3_2") == []


async def test_the_odm_archive_holds_every_audited_change_with_who_where_when_why(
    cdisc_trial: Trial, odm
):
    response, root = odm
    tables = (
        "participants", "screenings", "consents", "randomizations", "doses", "visits",
        "lab_results", "adverse_events", "treatments", "outcomes", "protocol_deviations",
    )  # fmt: skip
    audited = await cdisc_trial.iso.db.fetch(
        "SELECT id, table_name, record_id, action, reason FROM audit_log"
        " WHERE table_name = ANY($1::text[]) ORDER BY id",
        list(tables),
    )
    groups = root.findall(".//odm:ItemGroupData", ODM_NS)
    sources = [g.find("odm:AuditRecord/odm:SourceID", ODM_NS).text for g in groups]
    assert sorted(sources, key=lambda s: int(s.split(":")[1])) == [
        f"audit_log:{a['id']}" for a in audited
    ]
    assert root.get("FileType") == "Transactional"
    assert root.get("Granularity") == "All"
    subjects = {
        s.get("SubjectKey") for s in root.iterfind("odm:ClinicalData/odm:SubjectData", ODM_NS)
    }
    dm = {
        (await cdisc_trial.get(f"/api/v1/participants/{i}"))["study_id"]
        for i in cdisc_trial.ids.values()
    }
    assert subjects == dm
    ae = [g for g in groups if g.get("ItemGroupRepeatKey") == cdisc_trial.records["ae"]]
    assert [g.get("TransactionType") for g in ae] == ["Insert", "Update"]
    update = ae[1]
    assert update.find("odm:AuditRecord/odm:ReasonForChange", ODM_NS).text == "CTCAE regraded"
    grade = {i.get("ItemOID"): i.get("Value") for i in update.iterfind("odm:ItemData", ODM_NS)}
    assert grade["IT.ADVERSE_EVENTS.CTCAE_GRADE"] == "3"
    who = update.find("odm:AuditRecord/odm:UserRef", ODM_NS).get("UserOID")
    where = update.find("odm:AuditRecord/odm:LocationRef", ODM_NS).get("LocationOID")
    assert (who, where) == (f"USR.{cdisc_trial.inv.user_id}", f"LOC.{cdisc_trial.inv.site_code}")
    voided = [g for g in groups if g.get("ItemGroupRepeatKey") == cdisc_trial.records["voided_lab"]]
    assert [g.get("TransactionType") for g in voided] == ["Insert", "Remove"]
    reason = voided[1].find("odm:AuditRecord/odm:ReasonForChange", ODM_NS).text
    assert reason == "sample of another patient"
    user = root.find(f"odm:AdminData/odm:User[@OID='USR.{cdisc_trial.inv.user_id}']", ODM_NS)
    username = (await cdisc_trial.get(f"/api/v1/users/{cdisc_trial.inv.user_id}"))["username"]
    assert user.find("odm:LoginName", ODM_NS).text == username
    assert user.get("UserType") == "Investigator"
    sites = {loc.get("OID") for loc in root.iterfind("odm:AdminData/odm:Location", ODM_NS)}
    assert f"LOC.{cdisc_trial.inv.site_code}" in sites
    kind = await cdisc_trial.iso.db.fetchval(
        "SELECT kind FROM exports WHERE id = $1",
        uuid.UUID(response.headers["x-export-id"]),
    )
    assert kind == "odm"


async def test_text_outside_ascii_refuses_the_sdtm_export_naming_the_record(
    cdisc_trial: Trial, cdisc_statistician, odm
):
    """Runs last: it corrects a record and puts it back."""
    drug = cdisc_trial.records["entecavir"]
    await cdisc_trial.patch(
        "E1",
        f"treatments/{drug}",
        {"name": "Entécavir 恩替卡韦", "reason": "site typed the local name"},
        1,
    )
    r = await cdisc_trial.iso.client.get("/api/v1/exports/sdtm", headers=cdisc_statistician.headers)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"].endswith("/not-exportable")
    assert problem["errors"] == [
        {
            "field": f"treatments/{drug}/name",
            "message": "not ASCII: Ent\\xe9cavir \\u6069\\u66ff\\u5361\\u97e6",
        }
    ]
    assert (
        await cdisc_trial.iso.client.get("/api/v1/exports/odm", headers=cdisc_statistician.headers)
    ).status_code == 200
    await cdisc_trial.patch(
        "E1", f"treatments/{drug}", {"name": "Entecavir", "reason": "ASCII for the SDTM export"}, 2
    )
    r = await cdisc_trial.iso.client.get("/api/v1/exports/sdtm", headers=cdisc_statistician.headers)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("role", ["investigator", "coordinator", "integration", "monitor", "dsmb"])
async def test_only_statisticians_and_admins_may_export(cdisc_trial: Trial, role: str):
    actor = await make_actor(
        cdisc_trial.iso.client,
        ADMIN,
        role,
        cdisc_trial.inv.site_code
        if role in {"investigator", "coordinator", "integration"}
        else None,
    )
    before = await cdisc_trial.iso.db.fetchval("SELECT count(*) FROM exports")
    for kind in ("sdtm", "odm"):
        r = await cdisc_trial.iso.client.get(f"/api/v1/exports/{kind}", headers=actor.headers)
        assert r.status_code == 403, (role, kind)
        assert r.headers["content-type"] == "application/problem+json"
    assert await cdisc_trial.iso.db.fetchval("SELECT count(*) FROM exports") == before
    r = await cdisc_trial.iso.client.get("/api/v1/exports/sdtm")
    assert r.status_code == 401
