"""define.xml (Define-XML 2.1) for the SDTM datasets, built with odmlib from the same metadata.

One ItemGroupDef per dataset (its leaf is the .xpt file), one ItemDef per variable with the
length of the file's variable, its origin (Collected, Derived, Assigned, Protocol) and a
comment naming where its values come from in the service (the mappers' `Var.source`); the
codelists of `terminology` (values used in the data are added, marked def:ExtendedValue when
a CDISC codelist lacks them); the methods of `methods`; LOINC, MedDRA, ISO 3166 and WHO ATC as
external dictionaries. Standards: SDTMIG 3.4 and CDISC CT 2022-06-24.
Not included: value-level metadata (ValueListDef/WhereClauseDef) and an annotated CRF (the
service has no CRF; docs/sdtm.md maps every variable to its API field instead).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from app.interop.cdisc import terminology as ct
from app.interop.cdisc.common import STUDYID, decimal_text
from app.interop.cdisc.datasets import Column, Dataset
from app.interop.cdisc.methods import METHODS
from app.interop.cdisc.standard import SDTMIG_VERSION, codelist
from app.interop.cdisc.xml import DEFINE_NAMESPACES, serialize
from app.interop.cdisc.xpt import widths

STD_IG = "STD.SDTMIG.3-4"
STD_CT = f"STD.CT.SDTM.{ct.CT_VERSION}"
UNIT_KEY = "UNIT"
UNIT_CODELIST = "C71620"
_CLASSES = {
    "Special-Purpose": "SPECIAL PURPOSE",
    "Findings": "FINDINGS",
    "Events": "EVENTS",
    "Interventions": "INTERVENTIONS",
    "Trial Design": "TRIAL DESIGN",
    "Relationship": "RELATIONSHIP",
}
# variables whose values come from an external dictionary
EXTERNAL = {
    "LBLOINC": ("LOINC", "LOINC", None),
    "AEPTCD": ("MEDDRA", "MedDRA", None),
    "COUNTRY": ("ISO3166", "ISO 3166-1 alpha-3", None),
    "CMCLASCD": ("ATC", "WHO ATC", None),
}


def build_define(datasets: Sequence[Dataset], created_at: datetime) -> Any:
    """The define.xml document (an odmlib object) for `datasets`."""
    import odmlib.define_2_1.model as DEF

    used = _values_by_codelist(datasets)
    mdv = DEF.MetaDataVersion(
        OID=f"MDV.{STUDYID}.SDTMIG.{SDTMIG_VERSION}",
        Name=f"SDTM datasets of {STUDYID}",
        Description=f"SDTMIG {SDTMIG_VERSION} tabulation datasets of {STUDYID}",
        DefineVersion="2.1.0",
    )
    mdv.Standards = DEF.Standards(
        Standard=[
            DEF.Standard(OID=STD_IG, Name="SDTMIG", Type="IG", Version=SDTMIG_VERSION, Status="Final"),
            DEF.Standard(
                OID=STD_CT, Name="CDISC/NCI", Type="CT", PublishingSet="SDTM",
                Version=ct.CT_VERSION, Status="Final",
            ),
        ]
    )  # fmt: skip
    # odmlib checks children in the order first touched: keep the XSD order
    mdv.ItemGroupDef = [_item_group(DEF, d) for d in datasets]
    mdv.ItemDef = [_item_def(DEF, d, c, w) for d in datasets for c, w in _with_widths(d)]
    mdv.CodeList = _codelists(DEF, used)
    methods = sorted({c.var.method for d in datasets for c in d.columns if c.var.method})
    mdv.MethodDef = [_method(DEF, key) for key in methods]
    mdv.CommentDef = [_comment(DEF, d, c) for d in datasets for c in d.columns]
    study = DEF.Study(
        OID=f"ST.{STUDYID}",
        GlobalVariables=DEF.GlobalVariables(
            StudyName=DEF.StudyName(_content=STUDYID),
            StudyDescription=DEF.StudyDescription(
                _content="PT-MSCs Exosome Injection in acute-on-chronic liver failure: "
                "randomized, open-label, standard medical treatment controlled"
            ),
            ProtocolName=DEF.ProtocolName(_content=STUDYID),
        ),
        MetaDataVersion=mdv,
    )
    stamp = created_at.isoformat(timespec="seconds")
    return DEF.ODM(
        FileOID=f"DEF.{STUDYID}.{created_at.strftime('%Y%m%dT%H%M%S')}",
        FileType="Snapshot",
        ODMVersion="1.3.2",
        CreationDateTime=stamp,
        Originator="ACLF exosome trial service",
        SourceSystem="aclf-trial-service",
        SourceSystemVersion="1.0.0",
        Context="Submission",
        Study=study,
    )


def define_xml(datasets: Sequence[Dataset], created_at: datetime) -> bytes:
    return serialize(build_define(datasets, created_at), DEFINE_NAMESPACES)


def _tt(DEF: Any, text: str) -> Any:
    return DEF.Description(TranslatedText=[DEF.TranslatedText(_content=text, lang="en")])


def _item_group(DEF: Any, d: Dataset) -> Any:
    parent = d.name[4:] if d.name.startswith("SUPP") else d.name
    refs = []
    for i, c in enumerate(d.columns, start=1):
        kw: dict[str, Any] = {
            "ItemOID": _oid(d, c),
            "OrderNumber": i,
            "Mandatory": "Yes" if c.core == "Req" else "No",
        }
        if c.var.name in d.keys:
            kw["KeySequence"] = d.keys.index(c.var.name) + 1
        if c.var.method:
            kw["MethodOID"] = f"MT.{c.var.method}"
        refs.append(DEF.ItemRef(**kw))
    design = _CLASSES.get(d.dataset_class) == "TRIAL DESIGN"
    group = DEF.ItemGroupDef(
        OID=f"IG.{d.name}",
        Name=d.name,
        Repeating="No" if d.name == "DM" else "Yes",
        IsReferenceData="Yes" if design else "No",
        SASDatasetName=d.name,
        Domain=parent,
        Purpose="Tabulation",
        Structure=d.structure,
        StandardOID=STD_IG,
        ArchiveLocationID=f"LF.{d.name}",
        Description=_tt(DEF, d.label),
    )
    group.ItemRef = refs
    group.Class = DEF.Class(Name=_CLASSES[d.dataset_class])
    group.leaf = DEF.leaf(ID=f"LF.{d.name}", href=d.filename, title=DEF.title(_content=d.filename))
    return group


def _with_widths(d: Dataset) -> Iterable[tuple[Column, int]]:
    found = widths(d)
    return [(c, found[c.var.name]) for c in d.columns]


def _item_def(DEF: Any, d: Dataset, c: Column, width: int) -> Any:
    index = d.names.index(c.var.name)
    values = [row[index] for row in d.rows if row[index] is not None and row[index] != ""]
    data_type, length, digits = _data_type(c, values, width)
    kw: dict[str, Any] = {
        "OID": _oid(d, c),
        "Name": c.var.name,
        "DataType": data_type,
        "SASFieldName": c.var.name,
        "CommentOID": f"COM.{d.name}.{c.var.name}",
        "Description": _tt(DEF, c.label),
    }
    if length is not None:
        kw["Length"] = length
    if digits is not None:
        kw["SignificantDigits"] = digits
    item = DEF.ItemDef(**kw)
    key = _codelist_key(c)
    if key is not None:
        item.CodeListRef = DEF.CodeListRef(CodeListOID=f"CL.{key}")
    origin: dict[str, str] = {"Type": c.var.origin}
    if c.var.origin != "Not Available":
        origin["Source"] = "Investigator" if c.var.origin == "Collected" else "Sponsor"
    item.Origin = [DEF.Origin(**origin)]
    return item


def _data_type(c: Column, values: list[Any], width: int) -> tuple[str, int | None, int | None]:
    if c.type == "Num":
        if all(float(v).is_integer() for v in values):
            return "integer", max([len(str(int(v))) for v in values] or [1]), None
        texts = [decimal_text(v) for v in values]
        decimals = max(len(t.partition(".")[2]) for t in texts)
        return "float", max(len(t) for t in texts), max(decimals, 1)
    if c.var.name.endswith("DTC") and values:
        with_time = {("T" in str(v)) for v in values}
        if with_time == {False} and all(len(str(v)) == 10 for v in values):
            return "date", None, None
        if with_time == {True} and all(len(str(v)) == 19 for v in values):
            return "datetime", None, None
        return "partialDatetime", None, None
    return "text", width, None


def _codelist_key(c: Column) -> str | None:
    if c.var.name in EXTERNAL:
        return EXTERNAL[c.var.name][0]
    if c.var.codelist == "UNIT":
        return UNIT_KEY
    return c.var.codelist


def _values_by_codelist(datasets: Sequence[Dataset]) -> dict[str, set[str]]:
    used: dict[str, set[str]] = defaultdict(set)
    for d in datasets:
        for i, c in enumerate(d.columns):
            key = _codelist_key(c)
            if key is not None:
                used[key] |= {str(row[i]) for row in d.rows if row[i] not in (None, "")}
    return used


def _codelists(DEF: Any, used: dict[str, set[str]]) -> list[Any]:
    found = []
    for key in sorted(used):
        if key in {e[0] for e in EXTERNAL.values()}:
            name = next(e[1] for e in EXTERNAL.values() if e[0] == key)
            found.append(
                DEF.CodeList(
                    OID=f"CL.{key}", Name=name, DataType="text" if key != "MEDDRA" else "integer",
                    ExternalCodeList=DEF.ExternalCodeList(Dictionary=name),
                )
            )  # fmt: skip
            continue
        found.append(_codelist(DEF, key, used[key]))
    return found


def _codelist(DEF: Any, key: str, used: set[str]) -> Any:
    if key == UNIT_KEY:
        pinned = ct.CodeList(
            UNIT_KEY,
            "Unit",
            tuple(ct.Term(u) for u in sorted(set(ct.UNIT_FROM_UCUM.values()))),
            UNIT_CODELIST,
        )
    else:
        pinned = ct.CODELISTS[key]
    terms = list(pinned.terms) + [ct.Term(v) for v in sorted(used - pinned.values)]
    cdisc = codelist(pinned.nci).terms if pinned.nci else None
    kw: dict[str, Any] = {"OID": f"CL.{key}", "Name": pinned.name, "DataType": pinned.data_type}
    if pinned.nci:
        kw["StandardOID"] = STD_CT
    cl = DEF.CodeList(**kw)
    decoded = any(t.decode for t in terms)
    items = []
    for order, t in enumerate(terms, start=1):
        item_kw: dict[str, Any] = {"CodedValue": t.value, "OrderNumber": order}
        if cdisc is not None and (t.extended or t.value not in cdisc):
            item_kw["ExtendedValue"] = "Yes"
        if decoded:
            item = DEF.CodeListItem(**item_kw)
            item.Decode = DEF.Decode(
                TranslatedText=[DEF.TranslatedText(_content=t.decode or t.value, lang="en")]
            )
        else:
            item = DEF.EnumeratedItem(**item_kw)
        if t.nci:
            item.Alias = [DEF.Alias(Context="nci:ExtCodeID", Name=t.nci)]
        items.append(item)
    if decoded:
        cl.CodeListItem = items
    else:
        cl.EnumeratedItem = items
    if pinned.nci:
        cl.Alias = [DEF.Alias(Context="nci:ExtCodeID", Name=pinned.nci)]
    return cl


def _method(DEF: Any, key: str) -> Any:
    name, text = METHODS[key]
    return DEF.MethodDef(OID=f"MT.{key}", Name=name, Type="Computation", Description=_tt(DEF, text))


def _comment(DEF: Any, d: Dataset, c: Column) -> Any:
    return DEF.CommentDef(OID=f"COM.{d.name}.{c.var.name}", Description=_tt(DEF, c.var.source))


def _oid(d: Dataset, c: Column) -> str:
    return f"IT.{d.name}.{c.var.name}"
