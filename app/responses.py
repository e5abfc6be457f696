"""Fast JSON responses: a model built by the service is serialized once, by pydantic-core.

A route that returns a model makes FastAPI validate it again against the response model and
encode it through `jsonable_encoder`; for a model the service has just built that is wasted
work. Routes on the hot paths return `json_response(model)` instead and keep their
`response_model=` in the decorator, so the OpenAPI document is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response
from pydantic import BaseModel

JSON = "application/json"


def json_response(
    model: BaseModel, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    body = model.__pydantic_serializer__.to_json(model)
    return Response(body, status_code=status_code, media_type=JSON, headers=headers)
