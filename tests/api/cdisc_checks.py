"""Reading the exports back, as a reviewer's tools would: pyreadstat for the XPT files, lxml
and odmlib (independently of the app's own code) for define.xml and the ODM file."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyreadstat

from app.interop.cdisc import conformance

SHANGHAI = ZoneInfo("Asia/Shanghai")


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
