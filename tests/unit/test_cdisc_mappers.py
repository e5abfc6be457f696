"""The SDTM mappers and their checks on plain records: no database, no HTTP."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pyreadstat
import pytest

from app.interop.cdisc import ae, conformance, dm, ds, ie, records, sv, text
from app.interop.cdisc.common import epoch, sdtm_day, split_text
from app.interop.cdisc.datasets import build_datasets, finish
from app.interop.cdisc.errors import NotExportable
from app.interop.cdisc.sdtm import package, table
from app.interop.cdisc.xpt import to_xpt

DAY1 = date(2026, 10, 1)
NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)


def at(day: int, hour: int = 1) -> datetime:
    """A UTC instant on a study day (09:00 at a site in Asia/Shanghai for hour=1)."""
    return datetime(2026, 10, 1, hour, tzinfo=UTC) + timedelta(days=day - 1)


def screening(
    eligible: bool = True, reasons: tuple[str, ...] = (), on: date = date(2026, 9, 30)
) -> records.Screening:
    return records.Screening(uuid.uuid4(), on, at(0), eligible, reasons, 1, "mild", None, {}, {})


def participant(
    status: str = "randomized", arm: str | None = "exosome", **fields: object
) -> records.Participant:
    allocation = records.Allocation(arm, DAY1, at(1), 1) if arm else None
    base = records.Participant(
        uuid.uuid4(), "GZ3-0001", "GZ3", "Asia/Shanghai", date(1970, 5, 1), "male", status,
        screenings=(screening(),), allocation=allocation,
    )  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def dose(n: int, day: int) -> records.Dose:
    return records.Dose(uuid.uuid4(), n, at(day), at(day, 3), 200_000_000_000, Decimal(100), "LOT")


def adverse_event(**fields: object) -> records.AdverseEvent:
    base = records.AdverseEvent(
        uuid.uuid4(), "Fever", None, DAY1, None, 1, False, (), "not_related", "expected", "none",
        "recovered", False,
    )  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def study(*participants: records.Participant) -> records.Study:
    return records.Study(participants, NOW, date(2026, 9, 29), "audit_log:1")


def test_study_days_have_no_day_zero():
    assert [sdtm_day(DAY1, DAY1 + timedelta(days=d)) for d in (-2, -1, 0, 1, 9)] == [
        -2,
        -1,
        1,
        2,
        10,
    ]
    assert sdtm_day(None, DAY1) is None


def test_epochs_follow_the_treatment_period_and_a_late_dose_4():
    p = participant()
    on = lambda day: DAY1 + timedelta(days=day - 1)  # noqa: E731
    assert [epoch(p, on(d)) for d in (0, 1, 10, 11)] == [
        "SCREENING",
        "TREATMENT",
        "TREATMENT",
        "FOLLOW-UP",
    ]
    late = participant(doses=(dose(1, 1), dose(4, 11)))
    assert epoch(late, on(11)) == "TREATMENT"
    assert epoch(participant(arm=None, status="screening"), on(30)) == "SCREENING"


def test_long_text_is_split_at_spaces_and_goes_to_supp():
    words = "word " * 60
    assert "".join(split_text(words)) == words
    assert all(len(part) <= 200 for part in split_text(words))
    assert split_text("x" * 450) == ["x" * 200, "x" * 200, "x" * 50]
    domain = ae.build(study(participant(adverse_events=(adverse_event(term=words.strip()),))))
    assert len(domain.rows[0]["AETERM"] or "") <= 200
    parts = [s for s in domain.supp if s.qnam.startswith("AETERM")]
    assert [s.qnam for s in parts] == ["AETERM1"]
    assert (domain.rows[0]["AETERM"] or "") + parts[0].qval == words.strip()
    assert {s.idvarval for s in domain.supp} == {"1"}


def test_control_arm_actions_are_not_applicable():
    control = participant(arm="control", adverse_events=(adverse_event(action_taken="none"),))
    exosome = participant(adverse_events=(adverse_event(action_taken="none"),))
    assert ae.build(study(control)).rows[0]["AEACN"] == "NOT APPLICABLE"
    assert ae.build(study(exosome)).rows[0]["AEACN"] == "DOSE NOT CHANGED"


def test_an_unknown_code_refuses_the_export_naming_the_record():
    event = adverse_event(relatedness="maybe")
    with pytest.raises(NotExportable) as caught:
        ae.build(study(participant(adverse_events=(event,))))
    assert [(p.table, p.record_id, p.field) for p in caught.value.problems] == [
        ("adverse_events", str(event.id), "relatedness")
    ]
    failed = screening(eligible=False, reasons=("new_rule: something",))
    with pytest.raises(NotExportable):
        ie.build(study(participant(status="screen_failed", arm=None, screenings=(failed,))))


def test_disposition_of_completion_death_and_screen_failure():
    final = records.Visit(uuid.uuid4(), 84, date(2026, 12, 20), "alive", None, None, None, {}, {})
    death = records.Outcome(uuid.uuid4(), "death", date(2026, 12, 22))
    completed = participant(status="completed", visits=(final,))
    died = participant(status="died", visits=(final,), outcomes=(death,))
    failed = participant(status="screen_failed", arm=None)

    def final(p: records.Participant) -> list[tuple[object, ...]]:
        rows = ds.build(study(p)).rows
        return [
            (r["DSDECOD"], r["DSSTDTC"], r["EPOCH"])
            for r in rows
            if r["DSCAT"] == "DISPOSITION EVENT"
        ]

    assert final(completed) == [("COMPLETED", "2026-12-20", "FOLLOW-UP")]
    assert final(died) == [("DEATH", "2026-12-22", "FOLLOW-UP")]  # one final disposition
    assert final(failed) == [("SCREEN FAILURE", "2026-09-30", "SCREENING")]
    assert dm.build(study(died)).rows[0]["RFENDTC"] == "2026-12-22"
    assert dm.build(study(failed)).rows[0]["ARMNRS"] == "SCREEN FAILURE"


def test_visits_in_sv_span_the_screenings():
    p = participant(screenings=(screening(on=date(2026, 9, 25)), screening(on=date(2026, 9, 30))))
    rows = sv.build(study(p)).rows
    assert [(r["VISIT"], r["SVSTDTC"], r["SVENDTC"], r["SVSTDY"]) for r in rows] == [
        ("SCREENING", "2026-09-25", "2026-09-30", -6),
        ("DAY 1", "2026-10-01", "2026-10-01", 1),
    ]


def test_text_outside_ascii_is_named_record_by_record():
    drug = records.Treatment(
        uuid.uuid4(), "antiviral", "Entécavir", DAY1, None, "0.5\tmg", "oral", None
    )
    event = adverse_event(term="肝衰竭\nfever")
    p = participant(treatments=(drug,), adverse_events=(event,))
    found = text.problems(study(p))
    assert sorted((x.table, x.record_id, x.field, x.value) for x in found) == sorted([
        ("treatments", str(drug.id), "name", "Ent\\xe9cavir"),
        ("adverse_events", str(event.id), "term", "\\u809d\\u8870\\u7aed\nfever"),
    ])  # fmt: skip
    with pytest.raises(NotExportable):
        package(study(p))
    assert text.clean("0.5\tmg\r\nonce") == "0.5 mg  once"


def test_the_writer_refuses_a_value_the_format_cannot_hold():
    domain = ae.build(study(participant(adverse_events=(adverse_event(),))))
    domain.rows[0]["AETERM"] = "x" * 201
    with pytest.raises(NotExportable) as caught:
        finish(domain)
    assert caught.value.problems[0].why == "longer than 200 characters"


def test_an_xpt_file_reads_back_as_written(tmp_path):
    p = participant(doses=(dose(1, 1),), adverse_events=(adverse_event(meddra_pt_code="10016558"),))
    for dataset in build_datasets(study(p)):
        path = tmp_path / dataset.filename
        path.write_bytes(to_xpt(dataset))
        frame, meta = pyreadstat.read_xport(str(path))
        assert path.read_bytes().startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")
        assert (meta.table_name, meta.file_label) == (dataset.name, dataset.label)
        assert meta.column_names == list(dataset.names)
        assert meta.column_labels == [c.label for c in dataset.columns]
        assert len(frame) == len(dataset.rows)
        for row, values in zip(frame.itertuples(index=False), dataset.rows, strict=True):
            for got, want in zip(row, values, strict=True):
                if want is None:
                    assert got == "" or got != got
                else:
                    assert got == want


def test_the_offline_checks_find_what_they_check():
    good = [table(d) for d in build_datasets(study(participant(doses=(dose(1, 1),))))]
    assert conformance.check(good).errors == []
    bad = {t.name: t for t in good}
    dm_table = bad["DM"]
    i = {c[0]: n for n, c in enumerate(dm_table.columns)}
    row = list(dm_table.rows[0])
    row[i["SEX"]], row[i["RFSTDTC"]] = "FEMALE", "01/10/2026"
    bad["DM"] = conformance.Table("DM", dm_table.label, dm_table.columns, (tuple(row),))
    ex = bad["EX"]
    j = {c[0]: n for n, c in enumerate(ex.columns)}
    twice = list(ex.rows[0])
    twice[j["EXSTDY"]] = 0
    twice[j["EXENDTC"]] = "2026-09-01T00:00:00"
    orphan = list(ex.rows[0])
    orphan[j["USUBJID"]] = "GZ3-9999"
    bad["EX"] = conformance.Table(
        "EX", ex.label, ex.columns, (ex.rows[0], tuple(twice), tuple(orphan))
    )
    errors = conformance.check(list(bad.values())).errors
    expected = [
        "DM.SEX: not in codelist C66731: ['FEMALE']",
        "DM.RFSTDTC: not ISO 8601: ['01/10/2026']",
        "EX: EXSEQ not unique within USUBJID",
        "EX: EXENDTC before EXSTDTC in 1 record(s)",
        "EX: USUBJID not in DM: ['GZ3-9999']",
    ]
    for message in expected:
        assert message in errors, (message, errors)
    assert any(e.startswith("EX.EXSTDY: not the study day of EXSTDTC") for e in errors)


def test_a_define_xml_stays_valid_whatever_else_uses_odmlib():
    """odmlib's namespace registry is process-wide: another document (here: a reset) must not
    strip the def: and xlink: declarations from ours."""
    import odmlib.ns_registry as registry

    from app.interop.cdisc.define import build_define
    from app.interop.cdisc.xml import DEFINE_NAMESPACES, schema_errors, serialize

    document = build_define(build_datasets(study(participant())), NOW)
    registry.NamespaceRegistry(
        prefix="odm", uri="http://www.cdisc.org/ns/odm/v1.3", is_default=True, is_reset=True
    )
    xml = serialize(document, DEFINE_NAMESPACES)
    assert b'xmlns:def="http://www.cdisc.org/ns/def/v2.1"' in xml
    assert schema_errors(xml, "define", "2.1") == []
