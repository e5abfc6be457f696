"""The SDTM export: every dataset as SAS XPT v5 and define.xml, checked, in one zip.

`package(study)` refuses (NotExportable, naming the records) text that cannot go into an XPT
file, builds the datasets, runs the conformance checks on them (an error there is a defect of
the export itself: SdtmDefect), writes the files, validates define.xml against the
Define-XML 2.1 schema and odmlib's reference checks, and zips everything in a fixed order
with the export's time on every entry, so the same data exported at the same moment gives the
same bytes.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from app.interop.cdisc import conformance, text
from app.interop.cdisc.datasets import Dataset, build_datasets
from app.interop.cdisc.define import build_define
from app.interop.cdisc.errors import NotExportable
from app.interop.cdisc.records import Study
from app.interop.cdisc.xml import DEFINE_NAMESPACES, reference_errors, schema_errors, serialize
from app.interop.cdisc.xpt import to_xpt

DEFINE_FILE = "define.xml"


class SdtmDefect(Exception):
    """The export itself produced something non-conformant (a bug, never the data's fault)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:10]))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class SdtmPackage:
    content: bytes  # the zip
    row_counts: dict[str, int]  # dataset -> records
    warnings: tuple[str, ...]  # conformance warnings (known gaps, sponsor terms)


def table(d: Dataset) -> conformance.Table:
    columns = tuple((c.var.name, c.label, c.type) for c in d.columns)
    return conformance.Table(d.name, d.label, columns, d.rows)


def package(study: Study) -> SdtmPackage:
    problems = text.problems(study)
    if problems:
        raise NotExportable(problems)
    datasets = build_datasets(study)
    report = conformance.check([table(d) for d in datasets])
    if report.errors:
        raise SdtmDefect(report.errors)
    document = build_define(datasets, study.exported_at)
    define = serialize(document, DEFINE_NAMESPACES)
    errors = schema_errors(define, "define", "2.1") + reference_errors(document, "define_2_1")
    if errors:
        raise SdtmDefect(errors)
    stamp = study.exported_at.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for d in datasets:
            archive.writestr(zipfile.ZipInfo(d.filename, stamp), to_xpt(d), zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo(DEFINE_FILE, stamp), define, zipfile.ZIP_DEFLATED)
    counts = {d.name: len(d.rows) for d in datasets}
    return SdtmPackage(buffer.getvalue(), counts, tuple(report.warnings))
