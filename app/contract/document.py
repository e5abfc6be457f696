"""The OpenAPI document as integrators code against it (SPEC §9.1).

FastAPI generates the schemas and parameters from the routes; `finish` adds what it cannot
know, from rules and the one-line declarations of app/contract/operations.py: summaries, the
roles, the conditional and idempotency headers, every status the middleware and the route
can answer, problem+json as the only error body, and the security schemes as they are.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from app.contract.examples import EXAMPLES
from app.contract.fields import FIELDS
from app.contract.operations import OPERATIONS, Declared
from app.problems import PROBLEM_JSON, TITLES, TYPE_PREFIX, problem_slug
from app.schemas.published import MARKER, PUBLISHED

Json = dict[str, Any]
PROBLEM_REF: Json = {"$ref": "#/components/schemas/Problem"}
TOKEN_PATHS = frozenset({"/api/v1/auth/token", "/api/v1/auth/client-token"})
LOGIN_SCHEME = "OAuth2PasswordBearer"  # FastAPI's name for app.auth.oauth2_scheme
BEARER_SCHEME = "bearerAuth"


def operation_id(route: APIRoute) -> str:
    """House style: the endpoint function's name in camelCase (`createParticipant`)."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def finish(schema: Json) -> Json:
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            _finish_operation(path, method.upper(), op)
    components = schema.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    components.setdefault("schemas", {}).update(PUBLISHED)
    _link_published(components["schemas"])
    for name, example in EXAMPLES.items():
        components["schemas"][name]["examples"] = [example]
    for name, model in components["schemas"].items():
        _describe(name, model)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(unused, None)
    return schema


def _link_published(node: object) -> None:
    """Each published type's marker (app/schemas/published.py) becomes a $ref to it."""
    if isinstance(node, dict):
        name = node.pop(MARKER, None)
        if name is not None:
            node["$ref"] = f"#/components/schemas/{name}"
        for value in node.values():
            _link_published(value)
    elif isinstance(node, list):
        for value in node:
            _link_published(value)


def _describe(name: str, model: Json) -> None:
    """A property without a description of its own gets the common one (fields.py)."""
    for prop, schema in model.get("properties", {}).items():
        text = FIELDS.get(f"{name}.{prop}") or FIELDS.get(prop)
        if text and "description" not in schema:
            schema["description"] = text


def declared(op: Json) -> Declared:
    try:
        return OPERATIONS[op["operationId"]]
    except KeyError:
        raise LookupError(
            f"operation {op['operationId']} has no line in app/contract/operations.py"
        ) from None


def _finish_operation(path: str, method: str, op: Json) -> None:
    decl = declared(op)
    op["summary"] = decl.summary
    roles = _take_roles(op)
    if op.get("description"):
        op["description"] = op["description"].rstrip() + "\n\n" + _roles_sentence(roles)
    params = op.setdefault("parameters", [])
    _request_headers(path, method, decl, params)
    if_match = any(p["in"] == "header" and p["name"] == IF_MATCH["name"] for p in params)
    for status in _statuses(path, method, decl, op, roles is not None, if_match):
        op["responses"].setdefault(str(status), {})
    for status, response in op["responses"].items():
        _finish_response(int(status), method, decl, response)
    if not params:
        op.pop("parameters")


def _take_roles(op: Json) -> list[str] | None:
    """The roles app.auth.require put into the requirement; the requirement as it really is."""
    for requirement in op.get("security", []):
        if LOGIN_SCHEME in requirement:
            roles = sorted(requirement[LOGIN_SCHEME])
            op["security"] = [{BEARER_SCHEME: roles}, {LOGIN_SCHEME: []}]
            return roles
    return None


def _roles_sentence(roles: list[str] | None) -> str:
    if roles is None:
        return "**Roles:** any caller; no bearer token is needed."
    return "**Roles:** " + ", ".join(f"`{r}`" for r in roles) + "."


def _header_param(name: str, required: bool, description: str, schema: Json) -> Json:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": schema,
    }


ETAG_VALUE: Json = {"type": "string", "examples": ['"3"']}
IDEMPOTENCY_KEY = _header_param(
    "Idempotency-Key",
    False,
    "The same key and body replay the first response (across processes, for 24 h by"
    " default); the same key with another body is 422.",
    {"type": "string", "minLength": 1, "maxLength": 255},
)
IF_MATCH = _header_param(
    "If-Match", True, "The ETag of the record as read: 428 without it, 412 when stale.", ETAG_VALUE
)
IF_NONE_MATCH = _header_param(
    "If-None-Match",
    False,
    "The ETag held: 304 Not Modified (no body) while it is still current.",
    ETAG_VALUE,
)


def _request_headers(path: str, method: str, decl: Declared, params: list[Json]) -> None:
    for i, param in enumerate(params):
        if param["in"] == "header" and param["name"].lower() == "if-match":
            params[i] = dict(IF_MATCH)
    if method == "POST" and path.startswith("/api/") and path not in TOKEN_PATHS:
        params.append(dict(IDEMPOTENCY_KEY))
    if decl.read:
        params.append(dict(IF_NONE_MATCH))


def _statuses(
    path: str, method: str, decl: Declared, op: Json, authenticated: bool, if_match: bool
) -> set[int]:
    """Every status the middleware, the dependencies and the route can answer."""
    statuses = {422, 500}
    if path.startswith("/api/"):
        statuses.add(503)  # the database unavailable, the pool exhausted, a timeout
    if authenticated:
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if method in ("POST", "PATCH") and path.startswith("/api/"):
        statuses |= {408, 413}  # the middleware reads every body within a size and a time
    if method == "POST" and path not in TOKEN_PATHS:
        statuses.add(409)  # the same Idempotency-Key still in flight
    if if_match:
        statuses |= {409, 412, 428}
    if decl.read:
        statuses.add(304)
    return statuses


def _finish_response(status: int, method: str, decl: Declared, response: Json) -> None:
    headers = response.setdefault("headers", {})
    if status >= 400:
        slug = problem_slug(status)
        response["description"] = (
            f"{TITLES.get(status, 'Error')} (problem type `{TYPE_PREFIX}{slug}`)"
        )
        response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
        if status in (409, 429, 503):  # 409: a deadlock or serialization failure, retry
            headers["Retry-After"] = HEADERS["Retry-After"]
        if status == 401:
            headers["WWW-Authenticate"] = HEADERS["WWW-Authenticate"]
    elif status == 304:
        response["description"] = "Not modified: the If-None-Match ETag is still current"
        headers["ETag"] = HEADERS["ETag"]
    elif 200 <= status < 300:
        _success_headers(status, method, decl, headers)
    if not headers:
        response.pop("headers")


def _success_headers(status: int, method: str, decl: Declared, headers: Json) -> None:
    if decl.read or decl.etag:
        headers["ETag"] = HEADERS["ETag"]
    if decl.location and status == 201:
        headers["Location"] = HEADERS["Location"]
    if method == "POST":
        headers["Idempotent-Replayed"] = HEADERS["Idempotent-Replayed"]


def _header(description: str, schema: Json) -> Json:
    return {"description": description, "schema": schema}


HEADERS: dict[str, Json] = {
    "ETag": _header(
        "The record's version; send it back in If-Match or If-None-Match", {"type": "string"}
    ),
    "Location": _header("The URL of the record created", {"type": "string"}),
    "Retry-After": _header("Seconds to wait before trying again", {"type": "integer"}),
    "Idempotent-Replayed": _header(
        "`true` when this is the stored response to an earlier request with the same"
        " Idempotency-Key",
        {"type": "string", "enum": ["true"]},
    ),
    "WWW-Authenticate": _header("`Bearer`", {"type": "string"}),
}

SECURITY_SCHEMES: Json = {
    BEARER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (POST /api/v1/users/{user_id}/tokens) or a login token"
        " (POST /api/v1/auth/token). The requirement lists the roles that may call.",
    },
    LOGIN_SCHEME: {
        "type": "oauth2",
        "description": "The password login that issues a bearer token.",
        "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}},
    },
    "smartBackendServices": {
        "type": "oauth2",
        "description": "SMART Backend Services client credentials (private_key_jwt): tokens for"
        " the FHIR API at /fhir only, documented by its CapabilityStatement (docs/fhir.md).",
        "flows": {
            "clientCredentials": {
                "tokenUrl": "/api/v1/auth/client-token",
                "scopes": {
                    "system/*.rs": "read and search every FHIR resource",
                    "system/Observation.c": "create lab Observations (transaction Bundle)",
                },
            }
        },
    },
}
