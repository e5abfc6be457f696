"""The published contract: operationIds and the finished OpenAPI document (SPEC §9.1)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.contract.document import finish, operation_id
from app.problems import Problem

__all__ = ["install_contract", "operation_id"]


def install_contract(app: FastAPI) -> None:
    """`app.openapi()` answers the finished document (built once, then cached)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        app.openapi_schema = finish(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
