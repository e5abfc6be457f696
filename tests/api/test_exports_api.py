"""CDISC exports over HTTP (SPEC §11): a seeded trial exported once, read back, compared with
the API's own data, validated (XSD, odmlib, offline conformance), and audited.

The trial (tests/api/cdisc_trial.py) lives in a database of its own, so every count is exact.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyreadstat
import pytest

from app.interop.cdisc import conformance
from tests.api.cdisc_trial import ADMIN, Trial, build_trial
from tests.conftest import IsolatedApp
from tests.helpers import make_actor

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUBJECT_DATASETS = {"DM", "DS", "IE", "EX", "AE", "LB", "SV", "QS", "RS", "DV", "CM", "PR"}
DESIGN_DATASETS = {"TS", "TA", "TE", "TV", "TI"}


class Export:
    def __init__(self, response: Any, folder: Path) -> None:
        self.response = response
        self.archive = zipfile.ZipFile(io.BytesIO(response.content))
        self.tables: dict[str, Any] = {}
        self.meta: dict[str, Any] = {}
        for name in self.archive.namelist():
            if name.endswith(".xpt"):
                path = folder / name
                path.write_bytes(self.archive.read(name))
                frame, meta = pyreadstat.read_xport(str(path))
                self.tables[meta.table_name] = frame
                self.meta[meta.table_name] = meta
        self.define = self.archive.read("define.xml")

    def rows(self, dataset: str, **where: Any) -> list[dict[str, Any]]:
        frame = self.tables[dataset]
        found = frame.to_dict("records")
        return [r for r in found if all(r[k] == v for k, v in where.items())]


@pytest.fixture(scope="module")
async def trial():
    async with IsolatedApp() as iso:
        yield await build_trial(iso)


@pytest.fixture(scope="module")
async def statistician(trial: Trial):
    return await make_actor(trial.iso.client, ADMIN, "statistician")


@pytest.fixture(scope="module")
async def sdtm(trial: Trial, statistician, tmp_path_factory) -> Export:
    r = await trial.iso.client.get("/api/v1/exports/sdtm", headers=statistician.headers)
    assert r.status_code == 200, r.text
    return Export(r, tmp_path_factory.mktemp("sdtm"))


async def test_the_zip_holds_every_dataset_and_define_xml(sdtm: Export):
    assert sdtm.response.headers["content-type"] == "application/zip"
    disposition = sdtm.response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="PT-MSCs-EVS-2023-1_')
    assert disposition.endswith('_sdtm.zip"')
    names = set(sdtm.tables)
    assert names >= SUBJECT_DATASETS | DESIGN_DATASETS
    assert {n for n in names if n.startswith("SUPP")} == {
        "SUPPEX", "SUPPAE", "SUPPLB", "SUPPQS", "SUPPRS", "SUPPDV",
    }  # fmt: skip
    for name, meta in sdtm.meta.items():
        assert meta.file_label, name
        assert meta.table_name == name
        assert sdtm.archive.read(f"{name.lower()}.xpt")[:80].startswith(
            b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000000000000000000000000000  "
        )
        assert b"SAS     SAS     SASLIB  6.06" in sdtm.archive.read(f"{name.lower()}.xpt")[:160]


def tables(export: Export) -> list[conformance.Table]:
    """The files read back, as the offline checks read them."""
    found = []
    for name, frame in export.tables.items():
        meta = export.meta[name]
        kinds = meta.readstat_variable_types
        columns = tuple(
            (c, label, "Num" if kinds[c] == "double" else "Char")
            for c, label in zip(meta.column_names, meta.column_labels, strict=True)
        )
        rows = tuple(tuple(_plain(v) for v in row) for row in frame.itertuples(index=False))
        found.append(conformance.Table(name, meta.file_label, columns, rows))
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    return None if value == "" else value


def local(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(SHANGHAI).replace(tzinfo=None).isoformat()


async def test_every_file_read_back_passes_the_offline_conformance_checks(sdtm: Export):
    report = conformance.check(tables(sdtm))
    assert report.errors == []
    assert report.warnings == ["AE.AEDECOD: required variable missing or empty"]
    assert report.checked > 1000
    for name, meta in sdtm.meta.items():
        assert all(w <= 200 for w in meta.variable_storage_width.values()), name
        assert len(sdtm.tables[name]) == len(sdtm.rows(name)), name


async def test_subjects_arms_and_reference_dates_match_the_api(trial: Trial, sdtm: Export):
    dm = {r["USUBJID"]: r for r in sdtm.rows("DM")}
    assert len(dm) == 6
    for name, pid in trial.ids.items():
        p = await trial.get(f"/api/v1/participants/{pid}")
        row = dm[p["study_id"]]
        assert (row["STUDYID"], row["SUBJID"], row["SITEID"]) == (
            "PT-MSCs-EVS-2023-1", p["study_id"], p["site_code"]
        )  # fmt: skip
        assert row["SEX"] == {"male": "M", "female": "F"}[p["sex"]]
        assert row["ARMCD"] == {"control": "CTRL", "exosome": "EXO", None: ""}[p["arm"]], name
        assert row["RFSTDTC"] == (p["day1"] or ""), name
        assert row["COUNTRY"] == "CHN"
    by_name = {
        n: dm[(await trial.get(f"/api/v1/participants/{i}"))["study_id"]]
        for n, i in trial.ids.items()
    }
    assert by_name["E1"]["ACTARMCD"] == "EXO"
    assert by_name["E1"]["ARMNRS"] == ""
    assert (by_name["E2"]["ACTARMCD"], by_name["E2"]["ARMNRS"]) == ("", "ASSIGNED, NOT TREATED")
    assert by_name["SF"]["ARMNRS"] == "SCREEN FAILURE"
    assert by_name["SF"]["AGE"] == 76
    assert by_name["EL"]["ARMNRS"] == "NOT ASSIGNED"
    assert (by_name["C1"]["DTHFL"], by_name["C1"]["DTHDTC"]) == ("Y", trial.on(20).isoformat())
    doses = await trial.items("E1", "doses")
    assert by_name["E1"]["RFXSTDTC"] == local(min(d["started_at"] for d in doses))
    assert by_name["E1"]["RFXENDTC"] == local(max(d["ended_at"] for d in doses))


async def test_doses_match_the_api(trial: Trial, sdtm: Export):
    e1 = (await trial.get(f"/api/v1/participants/{trial.ids['E1']}"))["study_id"]
    ex = sdtm.rows("EX")
    assert {r["USUBJID"] for r in ex} == {e1}
    given = sorted(await trial.items("E1", "doses"), key=lambda d: d["dose_number"])
    assert [r["EXSPID"] for r in ex] == [str(d["dose_number"]) for d in given]
    assert [r["EXSTDTC"] for r in ex] == [local(d["started_at"]) for d in given]
    assert [r["EXENDTC"] for r in ex] == [local(d["ended_at"]) for d in given]
    assert [r["EXDOSE"] for r in ex] == [float(d["particles"]) for d in given]
    assert [r["EXSTDY"] for r in ex] == [1, 4, 7, 10]
    assert {(r["EXTRT"], r["EXDOSU"], r["EXROUTE"]) for r in ex} == {
        ("PT-MSCs Exosome Injection", "PARTICLES", "INTRAVENOUS")
    }
    volumes = {r["IDVARVAL"]: r["QVAL"] for r in sdtm.rows("SUPPEX", QNAM="EXVAMT")}
    assert volumes == {str(i): "100" for i in (1, 2, 3, 4)}


async def test_adverse_events_at_their_corrected_values(trial: Trial, sdtm: Export):
    ae = {r["AETERM"]: r for r in sdtm.rows("AE")}
    assert set(ae) == {"Infusion-related fever", "Nausea"}
    fever = ae["Infusion-related fever"]
    api = (await trial.items("E1", "adverse-events"))[0]
    assert api["ctcae_grade"] == 3  # corrected from 2
    assert fever["AETOXGR"] == "3"
    assert (fever["AESER"], fever["AESHOSP"], fever["AESDTH"]) == ("Y", "Y", "N")
    assert (fever["AEREL"], fever["AEACN"], fever["AEOUT"]) == (
        "POSSIBLY RELATED", "DRUG INTERRUPTED", "RECOVERED/RESOLVED"
    )  # fmt: skip
    assert (fever["AESTDTC"], fever["AEENDTC"]) == (api["onset_date"], api["end_date"])
    assert (fever["AESTDY"], fever["AEENDY"], fever["EPOCH"]) == (1, 3, "TREATMENT")
    assert fever["AEDECOD"] == ""  # MedDRA coding is the sponsor's
    nausea = ae["Nausea"]
    assert (nausea["AEACN"], nausea["AESER"], nausea["AEREL"]) == (
        "NOT APPLICABLE",
        "N",
        "NOT RELATED",
    )
    supp = {(r["USUBJID"], r["QNAM"]): r["QVAL"] for r in sdtm.rows("SUPPAE")}
    assert supp[(fever["USUBJID"], "AEEXPECT")] == "UNEXPECTED"
    assert supp[(fever["USUBJID"], "AESUSAR")] == ("Y" if api["susar"] else "N") == "Y"


async def test_every_lab_result_in_canonical_units_with_its_loinc(trial: Trial, sdtm: Export):
    lb = sdtm.rows("LB")
    api = []
    for name in trial.ids:
        study_id = (await trial.get(f"/api/v1/participants/{trial.ids[name]}"))["study_id"]
        for x in await trial.items(name, "lab-results"):
            if x["voided_at"] is None:
                api.append((study_id, x))
    assert len(lb) == len(api)
    assert trial.records["voided_lab"] not in {x["id"] for _, x in api}
    exported = {(r["USUBJID"], r["LBLOINC"], r["LBDTC"]): r for r in lb}
    for study_id, x in api:
        row = exported[(study_id, x["loinc"], local(x["collected_at"]))]
        assert row["LBSTRESN"] == pytest.approx(x["canonical_value"])
        assert float(row["LBORRES"]) == pytest.approx(x["value"])
    alt = [r for r in lb if r["LBTESTCD"] == "ALT"]
    assert len(alt) == 1  # the second was voided
    assert (alt[0]["LBORRES"], alt[0]["LBORRESU"], alt[0]["LBORNRHI"]) == ("1.2", "ukat/L", "0.67")
    assert (alt[0]["LBSTRESN"], alt[0]["LBSTRESU"], alt[0]["LBSTNRHI"]) == (
        72,
        "U/L",
        pytest.approx(40.2),
    )
    assert (alt[0]["LBNRIND"], alt[0]["LBLOINC"], alt[0]["VISITNUM"]) == (
        "HIGH",
        "1742-6",
        None,
    ) or alt[0]["VISITNUM"] != alt[0]["VISITNUM"]
    inr = [r for r in lb if r["LBTESTCD"] == "INR"]
    assert {r["LBORRESU"] for r in inr} == {""}  # a ratio has no unit
    assert {r["LBSTRESU"] for r in lb if r["LBTESTCD"] == "NEUT"} == {"10^9/L"}
    sources = {r["QVAL"] for r in sdtm.rows("SUPPLB", QNAM="LBSOURCE")}
    assert sources == {"SCREENING", "VISIT", "API"}


async def test_lab_baseline_flags_are_before_exposure(trial: Trial, sdtm: Export):
    flagged = [r for r in sdtm.rows("LB") if r["LBLOBXFL"] == "Y"]
    assert {r["USUBJID"] for r in flagged} == {
        (await trial.get(f"/api/v1/participants/{trial.ids[n]}"))["study_id"]
        for n in ("E1", "E2", "C1", "C2")
    }
    assert {r["VISIT"] for r in flagged} == {"SCREENING"}
    assert all(r["LBDY"] < 1 for r in flagged)


async def test_visits_and_scores_match_the_api(trial: Trial, sdtm: Export):
    for name in ("E1", "C1"):
        study_id = (await trial.get(f"/api/v1/participants/{trial.ids[name]}"))["study_id"]
        visits = (await trial.get(f"/api/v1/participants/{trial.ids[name]}/visits"))["visits"]
        sv = {r["VISITNUM"]: r for r in sdtm.rows("SV", USUBJID=study_id)}
        assert set(sv) == {0, 1} | {v["visit_day"] for v in visits}
        for v in visits:
            assert sv[v["visit_day"]]["SVSTDTC"] == v["visit_date"]
        series = await trial.get(f"/api/v1/participants/{trial.ids[name]}/scores")
        series = series["items"] if isinstance(series, dict) else series
        for point in series:
            visitnum = 0 if point["visit_day"] is None else point["visit_day"]
            rs = {r["RSTESTCD"]: r for r in sdtm.rows("RS", USUBJID=study_id, VISITNUM=visitnum)}
            qs = {r["QSTESTCD"]: r for r in sdtm.rows("QS", USUBJID=study_id, VISITNUM=visitnum)}
            scores = point["scores"]
            assert rs["COSSH2SC"]["RSSTRESN"] == pytest.approx(scores["cossh_aclf_ii"]["score"])
            assert rs["CPS0106"]["RSSTRESN"] == scores["child_pugh"]["score"]
            assert rs["CPS0107"]["RSORRES"] == scores["child_pugh"]["class"]
            assert (
                sum(
                    rs[c]["RSSTRESN"]
                    for c in ("CPS0101", "CPS0102", "CPS0103", "CPS0104", "CPS0105B")
                )
                == scores["child_pugh"]["score"]
            )
            assert qs["SYMPTOT"]["QSSTRESN"] == scores["symptom_score"]["score"]
            assert rs["COSSH2SC"]["RSDTC"] == qs["SYMPTOT"]["QSDTC"] == point["date"]
            baseline = "Y" if point["visit_day"] is None else ""
            assert rs["COSSH2SC"]["RSLOBXFL"] == qs["SYMPTOT"]["QSLOBXFL"] == baseline


async def test_disposition_deviations_and_treatments(trial: Trial, sdtm: Export):
    ids = {
        n: (await trial.get(f"/api/v1/participants/{i}"))["study_id"] for n, i in trial.ids.items()
    }
    ds = {(r["USUBJID"], r["DSDECOD"]): r for r in sdtm.rows("DS")}
    assert ds[(ids["C1"], "DEATH")]["DSCAT"] == "DISPOSITION EVENT"
    assert ds[(ids["E2"], "LIVER TRANSPLANT")]["DSCAT"] == "OTHER EVENT"
    assert (
        ds[(ids["SF"], "SCREEN FAILURE")]["DSSTDY"] != ds[(ids["SF"], "SCREEN FAILURE")]["DSSTDY"]
    )
    assert {d for (u, d) in ds if u == ids["E1"]} == {"INFORMED CONSENT OBTAINED", "RANDOMIZED"}
    ie = sdtm.rows("IE")
    assert {(r["USUBJID"], r["IETESTCD"]) for r in ie} == {
        (ids["SF"], "INCL01"),
        (ids["SF"], "INCL05"),
    }
    assert {r["IETESTCD"] for r in sdtm.rows("TI")} >= {r["IETESTCD"] for r in ie}
    dv = {r["USUBJID"]: r for r in sdtm.rows("DV")}
    assert (dv[ids["E1"]]["DVDECOD"], dv[ids["C1"]]["DVDECOD"]) == (
        "SHORT INFUSION",
        "VISIT OUT OF WINDOW",
    )
    reasons = {r["USUBJID"]: r["QVAL"] for r in sdtm.rows("SUPPDV")}
    assert reasons == {ids["E1"]: "infusion pump alarm", ids["C1"]: "patient came late"}
    cm = sdtm.rows("CM")
    assert [(r["CMTRT"], r["CMCAT"], r["CMROUTE"], r["CMCLASCD"], r["CMSTDY"]) for r in cm] == [
        ("Entecavir", "ANTIVIRAL", "ORAL", "J05AF10", -21)
    ]
    pr = {(r["USUBJID"], r["PRTRT"]) for r in sdtm.rows("PR")}
    assert pr == {(ids["E1"], "Plasma exchange"), (ids["E2"], "LIVER TRANSPLANTATION")}


async def test_trial_design_and_summary(sdtm: Export):
    ts = {(r["TSPARMCD"], r["TSSEQ"]): r for r in sdtm.rows("TS")}
    assert ts[("SSTDTC", 1)]["TSVAL"] == min(r["RFICDTC"] for r in sdtm.rows("DM") if r["RFICDTC"])
    assert ts[("ACTSUB", 1)]["TSVAL"] == "4"
    assert ts[("REGID", 1)]["TSVALNF"] == "UNK"
    assert {ts[("TTYPE", 1)]["TSVAL"], ts[("TTYPE", 2)]["TSVAL"]} == {"SAFETY", "EFFICACY"}
    assert ts[("SDTIGVER", 1)]["TSVAL"] == "3.4"
    assert {(r["ARMCD"], r["TAETORD"], r["ETCD"]) for r in sdtm.rows("TA")} == {
        ("CTRL", 1, "SCRN"), ("CTRL", 2, "SMT"), ("CTRL", 3, "FU"),
        ("EXO", 1, "SCRN"), ("EXO", 2, "EXO"), ("EXO", 3, "FU"),
    }  # fmt: skip
    assert [r["VISITNUM"] for r in sdtm.rows("TV")] == [0, 1, 4, 7, 10, 13, 28, 84]


ODM_NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


def xsd_errors(xml: bytes, standard: str, version: str) -> list[str]:
    """Validated here with lxml against the XSD odmlib bundles (independently of the app)."""
    from lxml import etree
    from odmlib.schema_manager import get_schema_path

    schema = etree.XMLSchema(etree.parse(str(get_schema_path(standard, version))))
    return [] if schema.validate(etree.fromstring(xml)) else [str(e) for e in schema.error_log]


def odmlib_errors(xml: bytes, model: str, checker: str) -> list[str]:
    """odmlib's loader, element-order and OID/reference checks on the file as sent."""
    from odmlib import define_loader, odm_loader
    from odmlib import loader as odmlib_loader
    from odmlib.oid_generator import create_oid_checker

    if model == "define_2_1":
        source = define_loader.XMLDefineLoader(model_package=model, ns_uri=ODM_NS["def"])
    else:
        source = odm_loader.XMLODMLoader(model_package=model, ns_uri=ODM_NS["odm"])
    loader = odmlib_loader.ODMLoader(source)
    loader.load_odm_string(xml.decode())
    document = loader.root()
    errors = document.validate(collect_errors=True, oid_checker=create_oid_checker(checker))
    return [str(e) for e in errors or []]


async def test_define_xml_is_valid_define_xml_2_1(sdtm: Export):
    assert xsd_errors(sdtm.define, "define", "2.1") == []
    assert odmlib_errors(sdtm.define, "define_2_1", "define_2_1") == []


async def test_define_xml_describes_every_file_exactly(sdtm: Export):
    from lxml import etree

    root = etree.fromstring(sdtm.define)
    mdv = root.find("odm:Study/odm:MetaDataVersion", ODM_NS)
    assert mdv.get(f"{{{ODM_NS['def']}}}DefineVersion") == "2.1.0"
    standards = {
        (s.get("Name"), s.get("Version"))
        for s in mdv.iterfind("def:Standards/def:Standard", ODM_NS)
    }
    assert standards == {("SDTMIG", "3.4"), ("CDISC/NCI", "2022-06-24")}
    items = {i.get("OID"): i for i in mdv.iterfind("odm:ItemDef", ODM_NS)}
    codelists = {c.get("OID"): c for c in mdv.iterfind("odm:CodeList", ODM_NS)}
    groups = {g.get("Name"): g for g in mdv.iterfind("odm:ItemGroupDef", ODM_NS)}
    assert set(groups) == set(sdtm.tables)
    for name, group in groups.items():
        meta = sdtm.meta[name]
        leaf = group.find("def:leaf", ODM_NS)
        assert leaf.get("{http://www.w3.org/1999/xlink}href") == f"{name.lower()}.xpt"
        refs = group.findall("odm:ItemRef", ODM_NS)
        assert [items[r.get("ItemOID")].get("Name") for r in refs] == meta.column_names, name
        for ref, column in zip(refs, meta.column_names, strict=True):
            item = items[ref.get("ItemOID")]
            assert (
                item.find("odm:Description/odm:TranslatedText", ODM_NS).text
                == meta.column_names_to_labels[column]
            )
            if item.get("DataType") == "text":
                assert int(item.get("Length")) == meta.variable_storage_width[column], (
                    name,
                    column,
                )
            listed = item.find("odm:CodeListRef", ODM_NS)
            if (
                listed is not None
                and codelists[listed.get("CodeListOID")].find("odm:ExternalCodeList", ODM_NS)
                is None
            ):
                values = {v for v in sdtm.tables[name][column] if v != ""}
                coded = {c.get("CodedValue") for c in codelists[listed.get("CodeListOID")]}
                assert values <= coded, (name, column, values - coded)
            origin = item.find("def:Origin", ODM_NS).get("Type")
            assert origin in {"Collected", "Derived", "Assigned", "Protocol"}
    sex = codelists["CL.SEX"]
    assert sex.find("odm:Alias", ODM_NS).get("Name") == "C66731"
    unit = codelists["CL.UNIT"]
    extended = {
        c.get("CodedValue") for c in unit if c.get(f"{{{ODM_NS['def']}}}ExtendedValue") == "Yes"
    }
    assert extended == {"PARTICLES"}


async def test_each_export_is_recorded_and_audited(trial: Trial, statistician, sdtm: Export):
    response = sdtm.response
    digest = hashlib.sha256(response.content).hexdigest()
    export_id = response.headers["x-export-id"]
    row = await trial.iso.db.fetchrow(
        "SELECT * FROM exports WHERE id = $1", __import__("uuid").UUID(export_id)
    )
    assert (row["kind"], row["sha256"], row["size_bytes"]) == (
        "sdtm",
        digest,
        len(response.content),
    )
    assert str(row["created_by"]) == statistician.user_id
    assert row["filename"] in response.headers["content-disposition"]
    counts = (
        __import__("json").loads(row["row_counts"])
        if isinstance(row["row_counts"], str)
        else row["row_counts"]
    )
    assert counts == {name: len(frame) for name, frame in sdtm.tables.items()}
    import base64

    assert (
        response.headers["repr-digest"]
        == f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:"
    )
    assert response.headers["cache-control"] == "no-store"
    audit = await trial.get(f"/api/v1/audit?table=exports&record_id={export_id}")
    [entry] = audit["items"]
    assert (entry["action"], entry["actor_user_id"], entry["actor_role"]) == (
        "INSERT", statistician.user_id, "statistician"
    )  # fmt: skip
    assert entry["new_values"]["sha256"] == digest


@pytest.mark.parametrize("role", ["investigator", "coordinator", "integration", "monitor", "dsmb"])
async def test_only_statisticians_and_admins_may_export(trial: Trial, role: str):
    actor = await make_actor(
        trial.iso.client,
        ADMIN,
        role,
        trial.inv.site_code if role in {"investigator", "coordinator", "integration"} else None,
    )
    before = await trial.iso.db.fetchval("SELECT count(*) FROM exports")
    for kind in ("sdtm", "odm"):
        r = await trial.iso.client.get(f"/api/v1/exports/{kind}", headers=actor.headers)
        assert r.status_code == 403, (role, kind)
        assert r.headers["content-type"] == "application/problem+json"
    assert await trial.iso.db.fetchval("SELECT count(*) FROM exports") == before
    r = await trial.iso.client.get("/api/v1/exports/sdtm")
    assert r.status_code == 401


@pytest.fixture(scope="module")
async def odm(trial: Trial, statistician):
    from lxml import etree

    r = await trial.iso.client.get("/api/v1/exports/odm", headers=statistician.headers)
    assert r.status_code == 200, r.text
    return r, etree.fromstring(r.content)


async def test_the_odm_archive_is_valid_odm_1_3_2(odm):
    response, _ = odm
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["content-disposition"].endswith('_odm.xml"')
    assert xsd_errors(response.content, "odm", "1.3.2") == []
    assert odmlib_errors(response.content, "odm_1_3_2", "odm_1_3_2") == []


async def test_the_odm_archive_holds_every_audited_change_with_who_where_when_why(
    trial: Trial, odm
):
    response, root = odm
    tables = (
        "participants", "screenings", "consents", "randomizations", "doses", "visits",
        "lab_results", "adverse_events", "treatments", "outcomes", "protocol_deviations",
    )  # fmt: skip
    audited = await trial.iso.db.fetch(
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
    dm = {(await trial.get(f"/api/v1/participants/{i}"))["study_id"] for i in trial.ids.values()}
    assert subjects == dm
    ae = [g for g in groups if g.get("ItemGroupRepeatKey") == trial.records["ae"]]
    assert [g.get("TransactionType") for g in ae] == ["Insert", "Update"]
    update = ae[1]
    assert update.find("odm:AuditRecord/odm:ReasonForChange", ODM_NS).text == "CTCAE regraded"
    grade = {i.get("ItemOID"): i.get("Value") for i in update.iterfind("odm:ItemData", ODM_NS)}
    assert grade["IT.ADVERSE_EVENTS.CTCAE_GRADE"] == "3"
    who = update.find("odm:AuditRecord/odm:UserRef", ODM_NS).get("UserOID")
    where = update.find("odm:AuditRecord/odm:LocationRef", ODM_NS).get("LocationOID")
    assert (who, where) == (f"USR.{trial.inv.user_id}", f"LOC.{trial.inv.site_code}")
    voided = [g for g in groups if g.get("ItemGroupRepeatKey") == trial.records["voided_lab"]]
    assert [g.get("TransactionType") for g in voided] == ["Insert", "Remove"]
    reason = voided[1].find("odm:AuditRecord/odm:ReasonForChange", ODM_NS).text
    assert reason == "sample of another patient"
    user = root.find(f"odm:AdminData/odm:User[@OID='USR.{trial.inv.user_id}']", ODM_NS)
    username = (await trial.get(f"/api/v1/users/{trial.inv.user_id}"))["username"]
    assert user.find("odm:LoginName", ODM_NS).text == username
    assert user.get("UserType") == "Investigator"
    sites = {loc.get("OID") for loc in root.iterfind("odm:AdminData/odm:Location", ODM_NS)}
    assert f"LOC.{trial.inv.site_code}" in sites
    kind = await trial.iso.db.fetchval(
        "SELECT kind FROM exports WHERE id = $1",
        __import__("uuid").UUID(response.headers["x-export-id"]),
    )
    assert kind == "odm"


async def test_text_outside_ascii_refuses_the_sdtm_export_naming_the_record(
    trial: Trial, statistician, odm
):
    """Runs last: it corrects a record and puts it back."""
    drug = trial.records["entecavir"]
    await trial.patch(
        "E1",
        f"treatments/{drug}",
        {"name": "Entécavir 恩替卡韦", "reason": "site typed the local name"},
        1,
    )
    r = await trial.iso.client.get("/api/v1/exports/sdtm", headers=statistician.headers)
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
        await trial.iso.client.get("/api/v1/exports/odm", headers=statistician.headers)
    ).status_code == 200
    await trial.patch(
        "E1", f"treatments/{drug}", {"name": "Entecavir", "reason": "ASCII for the SDTM export"}, 2
    )
    r = await trial.iso.client.get("/api/v1/exports/sdtm", headers=statistician.headers)
    assert r.status_code == 200, r.text
