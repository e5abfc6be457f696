"""Serializing and validating odmlib documents (Define-XML 2.1, ODM 1.3.2).

odmlib keeps XML namespaces in a process-wide registry; another document built in the same
process (or a library call that resets it) would change how ours is written. So every
document is bound to its own fixed namespace snapshot before it is serialized (odmlib's
`bind_document_namespaces`), and nothing here resets the registry.

Validation is twofold, as neither half catches what the other does: lxml against the XSD
odmlib bundles (structure, enumerations, data types) and odmlib's own `validate` with its OID
checker (dangling references: an ItemRef to a missing ItemDef is XSD-valid).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
DEFINE_NAMESPACES = {
    "namespaces": {"odm": ODM_NS, "def": DEF_NS, "xlink": XLINK_NS},
    "default": {"odm": ODM_NS},
}
ODM_NAMESPACES = {"namespaces": {"odm": ODM_NS}, "default": {"odm": ODM_NS}}
_LOCK = threading.Lock()  # lxml schema objects are not shared between threads at once


def serialize(document: Any, namespaces: dict[str, dict[str, str]]) -> bytes:
    import odmlib.ns_registry as registry

    registry.bind_document_namespaces(document, namespaces, recursive=True)  # type: ignore[no-untyped-call]
    text: str = document.to_xml_string(xml_declaration=True)
    return text.encode("utf-8")


@cache
def _schema(standard: str, version: str) -> Any:
    from lxml import etree
    from odmlib.schema_manager import get_schema_path

    return etree.XMLSchema(etree.parse(str(get_schema_path(standard, version))))


def schema_errors(xml: bytes, standard: str, version: str) -> list[str]:
    """Errors of `xml` against the bundled XSD ("define" "2.1" or "odm" "1.3.2")."""
    from lxml import etree

    with _LOCK:
        schema = _schema(standard, version)
        ok = schema.validate(etree.fromstring(xml))
        return [] if ok else [f"line {e.line}: {e.message}" for e in schema.error_log]


def reference_errors(document: Any, checker: str) -> list[str]:
    """odmlib's element-order, OID and reference checks ("define_2_1" or "odm_1_3_2")."""
    from odmlib.oid_generator import create_oid_checker

    errors = document.validate(collect_errors=True, oid_checker=create_oid_checker(checker))
    return [str(e) for e in errors or []]
