"""The OpenAPI 3.1 document, generated from the routes and their pydantic models
(flask-openapi3), served at ``/api/docs/openapi.json`` with Swagger UI at ``/api/docs/``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Response
from flask_openapi3 import Info, OpenAPI
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from api.errors import PROBLEM_JSON, problem
from api.schemas import Problem

DOCS_PREFIX = "/api/docs"
BEARER: list[dict[str, list[Any]]] = [{"bearer": []}]

TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    409: "Conflict", 413: "Payload too large", 415: "Unsupported media type",
    422: "Unprocessable content", 429: "Too many requests", 503: "Service unavailable",
}


Responses = dict[str | int | HTTPStatus, type[BaseModel] | dict[Any, Any] | None]


def problems(*statuses: int) -> Responses:
    """Document error responses of ``statuses`` as problem+json."""
    responses: Responses = {
        status: {
            "description": TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
    return responses


def _validation_error(exc: PydanticValidationError) -> Response:
    """Turn a request that does not fit its model into our problem+json, naming each field."""
    details = exc.errors(include_url=False, include_context=False, include_input=False)
    if any(not error["loc"] for error in details):
        return problem(400, "bad_input", "Bad request",
                       "send a JSON object body (Content-Type: application/json)")
    fields: dict[str, str] = {}
    for error in details:
        name = ".".join(str(part) for part in error["loc"])
        fields.setdefault(name, error["msg"])
    detail = "; ".join(f"{name}: {why}" for name, why in fields.items())
    return problem(422, "invalid", "Unprocessable content", f"invalid request: {detail}",
                   [{"field": name, "message": why} for name, why in fields.items()])


def create_openapi_app(import_name: str, version: str) -> OpenAPI:
    """Return the Flask app that documents its own API."""
    return OpenAPI(
        import_name,
        info=Info(title="Veza API", version=version,
                  description="Upload, process and stream audio. Errors are "
                              "application/problem+json."),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        doc_prefix=DOCS_PREFIX,
        doc_url="/openapi.json",
        validation_error_status=422,
        validation_error_model=Problem,
        validation_error_callback=_validation_error,
    )


def document_everywhere(app: OpenAPI, responses: Responses) -> None:
    """Add ``responses`` to every documented operation that does not list them already."""
    from flask_openapi3.models import Response as ResponseObject

    for item in app.paths.values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method)
            if operation is None:
                continue
            if operation.responses is None:
                operation.responses = {}
            for status, response in responses.items():
                if str(status) not in operation.responses:
                    operation.responses[str(status)] = ResponseObject(**response)  # type: ignore[arg-type]
