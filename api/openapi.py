"""The OpenAPI 3.1 document, generated from the routes and their pydantic models
(flask-openapi3), served at ``/api/docs/openapi.json`` with Swagger UI at ``/api/docs/``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Response
from flask_openapi3 import Info, OpenAPI
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from api.bodies import BodyJSONProvider, BoundedRequest
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
    app = OpenAPI(
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
    # The one place JSON bodies are parsed (request.get_json, flask-openapi3's body models).
    app.json = BodyJSONProvider(app)
    app.request_class = BoundedRequest
    return app


def cache_request_schemas(app: OpenAPI) -> None:
    """Build the JSON schema of each route's query, header and form models once.

    flask-openapi3 asks a query model for its JSON schema on every request (to tell list
    fields from scalars), and pydantic builds it afresh each time: a tenth of a catalogue
    page's CPU. The schema of a class never changes once the app is built; the document
    generator's calls, which pass arguments, still reach pydantic.
    """
    from flask_openapi3.utils import parse_parameters

    for view in app.view_functions.values():
        func = getattr(view, "__wrapped__", None)
        if func is None:
            continue
        header, _, _, query, form, _, _ = parse_parameters(func)
        for model in (header, query, form):
            if model is not None and "_veza_schema" not in model.__dict__:
                _memoise_schema(model)


def _memoise_schema(model: type[BaseModel]) -> None:
    build = model.model_json_schema
    schema = build()

    def model_json_schema(cls: type[BaseModel], *args: Any, **kwargs: Any) -> dict[str, Any]:
        if args or kwargs or cls is not model:
            return build.__func__(cls, *args, **kwargs)  # type: ignore[attr-defined, no-any-return]
        return schema

    model._veza_schema = schema  # type: ignore[attr-defined]
    model.model_json_schema = classmethod(model_json_schema)  # type: ignore[assignment, method-assign]


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
