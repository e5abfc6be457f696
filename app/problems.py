"""RFC 9457 problem+json: every error the service returns is built here."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from app.db.errors import (
    data_management_refusal,
    describe,
    frames_only,
    involves_the_database,
)
from app.domain.errors import DomainError, FieldError, InvalidData, NotFound, StateConflict

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "https://aclf-trial.example.org/problems/"

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid data",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem_slug(status: int) -> str:
    """The problem type of a status: one per kind of error."""
    return TITLES.get(status, "error").lower().replace(" ", "-")


class ProblemFieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """The body of every error response (documented on every route)."""

    type: str = Field(
        description="One URI per kind of error: the prefix "
        + TYPE_PREFIX
        + " and the title in kebab case (`invalid-data` for every 422, `conflict` for 409,"
        " ...); `not-exportable` and `oauth-<error>` are the only others."
    )
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemFieldError] | None = None


class ProblemError(Exception):
    """Raised anywhere in the HTTP layer to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or problem_slug(status)
        self.errors = list(errors)
        self.headers = headers or {}


def problem_body(
    status: int, detail: str, *, slug: str | None = None, errors: Sequence[FieldError] = ()
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + (slug or problem_slug(status)),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return body


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, detail, slug=slug, errors=errors),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_name(loc: Sequence[str | int]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_field_errors(exc: RequestValidationError) -> list[FieldError]:
    return [FieldError(_field_name(e["loc"]), e["msg"]) for e in exc.errors()]


DOMAIN_STATUS: dict[type[DomainError], int] = {InvalidData: 422, StateConflict: 409, NotFound: 404}


async def _on_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status, exc.detail, slug=exc.slug, errors=exc.errors, headers=exc.headers
    )


async def _on_domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = DOMAIN_STATUS.get(type(exc), 422)
    errors = exc.errors if isinstance(exc, InvalidData) else ()
    return problem_response(status, exc.detail, errors=errors)


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_field_errors(exc)
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return problem_response(422, detail, errors=errors)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No such resource"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return problem_response(exc.status_code, detail, headers=headers)


def allowed_methods(request: Request) -> str | None:
    """Every method of the path: the router's 405 names only the first route that matched
    the path, so `Allow` would omit GET where GET and POST are separate routes."""
    document = request.app.openapi()
    for template, item in document.get("paths", {}).items():
        if compile_path(template)[0].fullmatch(request.url.path):
            return ", ".join(sorted(m.upper() for m in item))
    return None


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    locked = data_management_refusal(exc)
    if locked is not None:  # not a bug: the request middleware answers it with a 409
        return problem_response(409, locked, slug="data-locked")
    if involves_the_database(exc):  # its message may quote the data (app/db/errors.py)
        log.error("unhandled database error: %s\n%s", describe(exc), frames_only(exc))
    else:
        log.exception("unhandled error", exc_info=exc)
    return problem_response(500, "An unexpected error occurred; it has been logged.")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(DomainError, _on_domain)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)


RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries: every route documents its problem responses."""
    return {
        s: {
            "model": Problem,
            "description": TITLES.get(s, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": RETRY_AFTER} if s in (429, 503) else {}),
        }
        for s in sorted({*statuses, 422, 500})
    }
