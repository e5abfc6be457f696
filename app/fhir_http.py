"""FHIR over HTTP: `application/fhir+json` responses, and an OperationOutcome for every error
under /fhir (never problem+json there).

Errors raised as FhirError (with FHIRPath locations) are rendered by `install_fhir_handlers`.
Every other error of a /fhir request - the shared problem handlers' 401/403/404/405/422, and
the request middleware's 408/409/413/503 - arrives as problem+json; `FhirOutcomeMiddleware`
re-expresses it as an OperationOutcome with the same status and headers.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fhir.resources.R4B.resource import Resource
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.interop.fhir.bundles import FhirError, operation_outcome, outcome_for_status
from app.interop.fhir.common import to_json
from app.interop.fhir.terminology import FHIR_JSON

FHIR_PREFIX = "/fhir"
PROBLEM_JSON = b"application/problem+json"


def is_fhir_path(path: str) -> bool:
    return path == FHIR_PREFIX or path.startswith(FHIR_PREFIX + "/")


def resource_response(
    resource: Resource, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(to_json(resource), status_code=status, media_type=FHIR_JSON, headers=headers)


def error_response(error: FhirError) -> Response:
    return resource_response(operation_outcome(error.issues), error.status)


async def _on_fhir_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, FhirError)
    return error_response(exc)


def install_fhir_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FhirError, _on_fhir_error)


def _diagnostics(body: bytes) -> list[str]:
    try:
        problem: dict[str, Any] = json.loads(body)
    except ValueError:
        return []
    errors = problem.get("errors") or []
    if errors:
        return [f"{e.get('field')}: {e.get('message')}" for e in errors]
    return [str(problem.get("detail") or problem.get("title") or "")]


class FhirOutcomeMiddleware:
    """On /fhir: a problem+json response becomes an OperationOutcome (status and headers kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_fhir_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = bytearray()

        async def translate(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(PROBLEM_JSON):
                    start = message  # hold it: the body decides the outcome
                    return
            elif message["type"] == "http.response.body" and start is not None:
                body.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await self._send_outcome(send, start, bytes(body))
                return
            await send(message)

        await self.app(scope, receive, translate)

    @staticmethod
    async def _send_outcome(send: Send, start: Message, problem: bytes) -> None:
        status = int(start["status"])
        content = to_json(outcome_for_status(status, _diagnostics(problem)))
        headers = [
            (k, v)
            for k, v in start.get("headers", [])
            if k.lower() not in (b"content-type", b"content-length")
        ]
        headers += [
            (b"content-type", FHIR_JSON.encode()),
            (b"content-length", str(len(content)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
