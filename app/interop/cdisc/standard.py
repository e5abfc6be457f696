"""SDTMIG 3.4 metadata and CDISC CT 2022-06-24, as vendored in `sdtmig34.json`.

The file holds only what the export uses: for each emitted dataset its label, class,
structure and variables (name, label, Char/Num type, core Req/Exp/Perm, order, linked
codelists), and the codelists the datasets or `terminology` refer to (extensible or not, and
the submission values, preferred terms and synonyms of their terms, flattened as the source
holds them). Its `_about` block names the source (the cache shipped in the PyPI wheel
cdisc-rules-engine 0.4.7.8, sha256 recorded), the attribution (SDTMIG (c) CDISC; CT maintained
by CDISC and published by NCI EVS) and the caveat that membership in a flattened codelist is
a necessary, not a sufficient, check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SDTMIG_VERSION = "3.4"
SDTM_VERSION = "2.0"  # the SDTM model version SDTMIG 3.4 implements
_PATH = Path(__file__).with_name("sdtmig34.json")


@dataclass(frozen=True, slots=True)
class VariableMeta:
    name: str
    label: str
    type: str  # Char | Num
    core: str  # Req | Exp | Perm
    order: int
    codelists: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DatasetMeta:
    name: str
    label: str
    dataset_class: str  # e.g. "Findings", "Special-Purpose", "Trial Design"
    structure: str
    variables: dict[str, VariableMeta]


@dataclass(frozen=True, slots=True)
class CodeListMeta:
    code: str
    extensible: bool
    terms: frozenset[str]  # submission values, preferred terms and synonyms (flattened)


@cache
def _raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_PATH.read_text(encoding="utf-8"))
    return data


def about() -> dict[str, Any]:
    info: dict[str, Any] = _raw()["_about"]
    return info


@cache
def dataset(name: str) -> DatasetMeta:
    """The SDTMIG 3.4 metadata of a domain; SUPP-- datasets share SUPPQUAL's."""
    key = "SUPPQUAL" if name.startswith("SUPP") else name
    raw = _raw()["datasets"][key]
    prefix = name[:2]
    variables = {}
    for v in raw["variables"]:
        vname = v["name"].replace("--", prefix)
        variables[vname] = VariableMeta(
            vname, v["label"], v["type"], v["core"], v["order"], tuple(v.get("codelists", ()))
        )
    label = raw["label"] if key != "SUPPQUAL" else f"Supplemental Qualifiers for {name[4:]}"
    return DatasetMeta(name, label, raw["class"], raw["structure"], variables)


def variable(domain: str, name: str) -> VariableMeta:
    return dataset(domain).variables[name]


@cache
def codelist(code: str) -> CodeListMeta:
    raw = _raw()["codelists"][code]
    extensible = str(raw["extensible"]).lower() == "true"
    terms = raw["allowed_terms_superset"]
    values = json.loads(terms) if isinstance(terms, str) else terms
    return CodeListMeta(code, extensible, frozenset(values))


def codelist_codes() -> frozenset[str]:
    return frozenset(_raw()["codelists"])
