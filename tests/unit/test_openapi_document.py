"""The committed OpenAPI document tells an integrator everything (SPEC §9.1).

Fails when an operation lacks a house-style operationId, a summary or a description (with
its roles), a declared header, or a status the middleware can answer.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re

import pytest
from pydantic import BaseModel

from app.contract.operations import OPERATIONS
from app.openapi_export import DEFAULT_PATH

SPEC = json.loads(DEFAULT_PATH.read_text())
OPERATION_ID = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")
TOKEN_PATHS = {"/api/v1/auth/token", "/api/v1/auth/client-token"}
PROBLEM = "application/problem+json"
OPS = [
    (method.upper(), path, op)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
]
IDS = [f"{m} {p}" for m, p, _ in OPS]


def _headers(op: dict) -> set[str]:
    return {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}


def _authenticated(path: str) -> bool:
    return path.startswith("/api/") and path not in TOKEN_PATHS


def test_operation_ids_are_house_style_and_unique():
    ids = [op["operationId"] for _, _, op in OPS]
    assert len(ids) == len(set(ids))
    bad = [i for i in ids if not OPERATION_ID.fullmatch(i) or "Api" in i]
    assert not bad


def test_every_operation_has_one_declaration_and_no_declaration_is_stale():
    assert {op["operationId"] for _, _, op in OPS} == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path", "op"), OPS, ids=IDS)
def test_operation_is_described_with_its_roles(method, path, op):
    assert op.get("summary"), (method, path)
    assert op.get("description"), (method, path)
    assert "**Roles:**" in op["description"]
    if _authenticated(path):
        assert op["security"][0]["bearerAuth"], "the roles that may call"


@pytest.mark.parametrize(("method", "path", "op"), OPS, ids=IDS)
def test_operation_declares_its_headers(method, path, op):
    headers = _headers(op)
    decl = OPERATIONS[op["operationId"]]
    if method == "POST" and _authenticated(path):
        assert "Idempotency-Key" in headers
        for status, response in op["responses"].items():
            if status.startswith("2"):
                assert "Idempotent-Replayed" in response["headers"]
    if method == "PATCH" or path.endswith("/void"):
        assert "If-Match" in headers
        assert {"412", "428"} <= op["responses"].keys()
    if decl.read:
        assert "If-None-Match" in headers
        assert "ETag" in op["responses"]["304"]["headers"]
    if decl.read or decl.etag:
        ok = next(r for s, r in op["responses"].items() if s.startswith("2"))
        assert "ETag" in ok["headers"]
    if decl.location:
        assert "Location" in op["responses"]["201"]["headers"]
    assert "accept" not in {h.lower() for h in headers}, "Accept is content negotiation"


@pytest.mark.parametrize(("method", "path", "op"), OPS, ids=IDS)
def test_operation_declares_every_status_as_problem_json_only(method, path, op):
    codes = set(op["responses"])
    assert {"422", "500"} <= codes
    if path.startswith("/api/"):
        assert "503" in codes
    if _authenticated(path):
        assert {"401", "403"} <= codes
    if method in ("POST", "PATCH") and path.startswith("/api/"):
        assert "413" in codes
    for status, response in op["responses"].items():
        if int(status) >= 400:
            assert set(response["content"]) == {PROBLEM}, (status, method, path)
        if status in ("429", "503"):
            assert "Retry-After" in response["headers"]


def test_security_schemes_are_as_they_are():
    schemes = SPEC["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    flow = schemes["smartBackendServices"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/api/v1/auth/client-token"


def test_binary_responses_have_a_schema():
    png = SPEC["paths"]["/api/v1/reports/endpoints/km.png"]["get"]["responses"]["200"]
    assert png["content"]["image/png"]["schema"] == {"type": "string", "format": "binary"}


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        own = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return own.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def test_every_reference_resolves():
    names = {f"#/components/schemas/{n}" for n in SPEC["components"]["schemas"]}
    assert _refs(SPEC) - names == set()


def test_controlled_vocabularies_are_enums_and_labs_are_typed():
    schemas = SPEC["components"]["schemas"]
    assert "possible" in schemas["Relatedness"]["enum"]
    assert "fatal" in schemas["AeOutcome"]["enum"]
    assert "hospitalization" in schemas["SeriousnessCriterion"]["enum"]
    ae = schemas["AdverseEventIn"]["properties"]
    assert ae["relatedness"]["$ref"].endswith("/Relatedness")
    assert ae["seriousness_criteria"]["items"]["$ref"].endswith("/SeriousnessCriterion")
    labs = schemas["Labs"]
    assert {"inr", "neutrophils", "total_bilirubin", "urea_nitrogen"} <= labs["properties"].keys()
    assert labs["additionalProperties"] is False
    assert set(schemas["Scores"]["properties"]) == {"cossh_aclf_ii", "child_pugh", "symptom_score"}


def _models() -> dict[str, type]:
    import app.schemas as package

    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"app.schemas.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                found[value.__name__] = value
    return found


def test_every_request_body_has_an_example_the_model_accepts():
    schemas = SPEC["components"]["schemas"]
    models = _models()
    for method, path, op in OPS:
        for content in op.get("requestBody", {}).get("content", {}).values():
            (ref,) = _refs(content["schema"])  # the body's model (createToken's may be null)
            name = ref.rsplit("/", 1)[-1]
            if name == "Body_requestClientToken":
                continue  # a signed JWT assertion: docs/fhir.md shows how to make one
            assert schemas[name].get("examples"), (method, path, name)
            if name in models:
                for example in schemas[name]["examples"]:
                    models[name].model_validate(example)


def test_every_schema_property_is_described():
    missing = [
        f"{name}.{prop}"
        for name, schema in SPEC["components"]["schemas"].items()
        for prop, value in schema.get("properties", {}).items()
        if not value.get("description")
    ]
    assert missing == [], "describe them in the model or app/contract/fields.py"


CURSOR_PAGED = {"/api/v1/changes"}  # SPEC §9.2: the change feed pages by `next_cursor`


def test_every_list_answers_the_page_envelope():
    """SPEC §9.2: a response carrying `items` is a page: `total`, `limit` and `offset` too."""
    schemas = SPEC["components"]["schemas"]
    not_paged = []
    for method, path, op in OPS:
        content = op.get("responses", {}).get("200", {}).get("content", {})
        ref = content.get("application/json", {}).get("schema", {}).get("$ref")
        if method != "GET" or ref is None or path in CURSOR_PAGED:
            continue
        schema = schemas[ref.rsplit("/", 1)[-1]]
        required = set(schema.get("required", []))
        if "items" in schema.get("properties", {}) and not {"total", "limit", "offset"} <= required:
            not_paged.append(f"{method} {path}")
    assert not_paged == []
