"""SDTM export over HTTP (SPEC §11): the seeded trial (tests/api/cdisc_trial.py, a database
of its own) exported once, every XPT file read back with pyreadstat and compared with the
API's own data, define.xml validated and matched to the files, the offline conformance checks
run on the files, the export recorded and audited.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import pytest

from app.interop.cdisc import conformance
from tests.api.cdisc_checks import ODM_NS, Export, local, odmlib_errors, tables, xsd_errors
from tests.api.cdisc_trial import Trial

SUBJECT_DATASETS = {"DM", "DS", "IE", "EX", "AE", "LB", "SV", "QS", "RS", "DV", "CM", "PR"}
DESIGN_DATASETS = {"TS", "TA", "TE", "TV", "TI"}


@pytest.fixture(scope="module")
async def sdtm(cdisc_trial: Trial, cdisc_statistician, tmp_path_factory) -> Export:
    client = cdisc_trial.iso.client
    r = await client.get("/api/v1/exports/sdtm", headers=cdisc_statistician.headers)
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


async def test_every_file_read_back_passes_the_offline_conformance_checks(sdtm: Export):
    report = conformance.check(tables(sdtm))
    assert report.errors == []
    assert report.warnings == ["AE.AEDECOD: required variable missing or empty"]
    assert report.checked > 1000
    for name, meta in sdtm.meta.items():
        assert all(w <= 200 for w in meta.variable_storage_width.values()), name
        assert len(sdtm.tables[name]) == len(sdtm.rows(name)), name


async def test_subjects_arms_and_reference_dates_match_the_api(cdisc_trial: Trial, sdtm: Export):
    dm = {r["USUBJID"]: r for r in sdtm.rows("DM")}
    assert len(dm) == 6
    for name, pid in cdisc_trial.ids.items():
        p = await cdisc_trial.get(f"/api/v1/participants/{pid}")
        row = dm[p["study_id"]]
        assert (row["STUDYID"], row["SUBJID"], row["SITEID"]) == (
            "PT-MSCs-EVS-2023-1", p["study_id"], p["site_code"]
        )  # fmt: skip
        assert row["SEX"] == {"male": "M", "female": "F"}[p["sex"]]
        assert row["ARMCD"] == {"control": "CTRL", "exosome": "EXO", None: ""}[p["arm"]], name
        assert row["RFSTDTC"] == (p["day1"] or ""), name
        assert row["COUNTRY"] == "CHN"
    by_name = {
        n: dm[(await cdisc_trial.get(f"/api/v1/participants/{i}"))["study_id"]]
        for n, i in cdisc_trial.ids.items()
    }
    assert by_name["E1"]["ACTARMCD"] == "EXO"
    assert by_name["E1"]["ARMNRS"] == ""
    assert (by_name["E2"]["ACTARMCD"], by_name["E2"]["ARMNRS"]) == ("", "ASSIGNED, NOT TREATED")
    assert by_name["SF"]["ARMNRS"] == "SCREEN FAILURE"
    assert by_name["SF"]["AGE"] == 76
    assert by_name["EL"]["ARMNRS"] == "NOT ASSIGNED"
    assert (by_name["C1"]["DTHFL"], by_name["C1"]["DTHDTC"]) == (
        "Y",
        cdisc_trial.on(20).isoformat(),
    )
    doses = await cdisc_trial.items("E1", "doses")
    assert by_name["E1"]["RFXSTDTC"] == local(min(d["started_at"] for d in doses))
    assert by_name["E1"]["RFXENDTC"] == local(max(d["ended_at"] for d in doses))


async def test_doses_match_the_api(cdisc_trial: Trial, sdtm: Export):
    e1 = (await cdisc_trial.get(f"/api/v1/participants/{cdisc_trial.ids['E1']}"))["study_id"]
    ex = sdtm.rows("EX")
    assert {r["USUBJID"] for r in ex} == {e1}
    given = sorted(await cdisc_trial.items("E1", "doses"), key=lambda d: d["dose_number"])
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


async def test_adverse_events_at_their_corrected_values(cdisc_trial: Trial, sdtm: Export):
    ae = {r["AETERM"]: r for r in sdtm.rows("AE")}
    assert set(ae) == {"Infusion-related fever", "Nausea"}
    fever = ae["Infusion-related fever"]
    api = (await cdisc_trial.items("E1", "adverse-events"))[0]
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


async def test_every_lab_result_in_canonical_units_with_its_loinc(cdisc_trial: Trial, sdtm: Export):
    lb = sdtm.rows("LB")
    api = []
    for name in cdisc_trial.ids:
        study_id = (await cdisc_trial.get(f"/api/v1/participants/{cdisc_trial.ids[name]}"))[
            "study_id"
        ]
        for x in await cdisc_trial.items(name, "lab-results"):
            if x["voided_at"] is None:
                api.append((study_id, x))
    assert len(lb) == len(api)
    assert cdisc_trial.records["voided_lab"] not in {x["id"] for _, x in api}
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


async def test_lab_baseline_flags_are_before_exposure(cdisc_trial: Trial, sdtm: Export):
    flagged = [r for r in sdtm.rows("LB") if r["LBLOBXFL"] == "Y"]
    assert {r["USUBJID"] for r in flagged} == {
        (await cdisc_trial.get(f"/api/v1/participants/{cdisc_trial.ids[n]}"))["study_id"]
        for n in ("E1", "E2", "C1", "C2")
    }
    assert {r["VISIT"] for r in flagged} == {"SCREENING"}
    assert all(r["LBDY"] < 1 for r in flagged)


async def test_visits_and_scores_match_the_api(cdisc_trial: Trial, sdtm: Export):
    for name in ("E1", "C1"):
        study_id = (await cdisc_trial.get(f"/api/v1/participants/{cdisc_trial.ids[name]}"))[
            "study_id"
        ]
        visits = (await cdisc_trial.get(f"/api/v1/participants/{cdisc_trial.ids[name]}/visits"))[
            "visits"
        ]
        sv = {r["VISITNUM"]: r for r in sdtm.rows("SV", USUBJID=study_id)}
        assert set(sv) == {0, 1} | {v["visit_day"] for v in visits}
        for v in visits:
            assert sv[v["visit_day"]]["SVSTDTC"] == v["visit_date"]
        series = await cdisc_trial.get(f"/api/v1/participants/{cdisc_trial.ids[name]}/scores")
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


async def test_disposition_deviations_and_treatments(cdisc_trial: Trial, sdtm: Export):
    ids = {
        n: (await cdisc_trial.get(f"/api/v1/participants/{i}"))["study_id"]
        for n, i in cdisc_trial.ids.items()
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
            assert origin in {"Collected", "Derived", "Assigned", "Protocol", "Not Available"}
    sex = codelists["CL.SEX"]
    assert sex.find("odm:Alias", ODM_NS).get("Name") == "C66731"
    unit = codelists["CL.UNIT"]
    extended = {
        c.get("CodedValue") for c in unit if c.get(f"{{{ODM_NS['def']}}}ExtendedValue") == "Yes"
    }
    assert extended == {"PARTICLES"}


async def test_each_export_is_recorded_and_audited(
    cdisc_trial: Trial, cdisc_statistician, sdtm: Export
):
    response = sdtm.response
    digest = hashlib.sha256(response.content).hexdigest()
    export_id = response.headers["x-export-id"]
    row = await cdisc_trial.iso.db.fetchrow(
        "SELECT * FROM exports WHERE id = $1", uuid.UUID(export_id)
    )
    assert (row["kind"], row["sha256"], row["size_bytes"]) == (
        "sdtm",
        digest,
        len(response.content),
    )
    assert str(row["created_by"]) == cdisc_statistician.user_id
    assert row["filename"] in response.headers["content-disposition"]
    counts = (
        json.loads(row["row_counts"]) if isinstance(row["row_counts"], str) else row["row_counts"]
    )
    assert counts == {name: len(frame) for name, frame in sdtm.tables.items()}
    assert (
        response.headers["repr-digest"]
        == f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:"
    )
    assert response.headers["cache-control"] == "no-store"
    audit = await cdisc_trial.get(f"/api/v1/audit?table=exports&record_id={export_id}")
    [entry] = audit["items"]
    assert (entry["action"], entry["actor_user_id"], entry["actor_role"]) == (
        "INSERT", cdisc_statistician.user_id, "statistician"
    )  # fmt: skip
    assert entry["new_values"]["sha256"] == digest
