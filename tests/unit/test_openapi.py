"""The OpenAPI document: valid 3.1, covering every API route, served with interactive docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from openapi_spec_validator import validate

from api import create_app
from storage.db import Database
from storage.local import LocalStore
from veza.runtime import Services
from veza.settings import Settings


@pytest.fixture
def app(tmp_path: Path, local_store: LocalStore) -> Flask:
    # Building the app connects to nothing; the database is only reached by requests.
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none", data_dir=tmp_path,
                        signing_key="k" * 64)
    services = Services(settings=settings, db=Database(settings.database_url or ""),
                        store=local_store)
    return create_app(settings, services)


def test_the_document_is_valid_openapi_3_1_and_covers_every_api_route(app: Flask) -> None:
    spec = app.test_client().get("/api/docs/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    documented = {(path, method.upper()) for path, item in spec["paths"].items()
                  for method in item if method in ("get", "post", "put", "patch", "delete")}
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        served |= {(path, m) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    assert served == documented
    upload = spec["paths"]["/api/v1/tracks"]["post"]
    assert set(upload["requestBody"]["content"]) >= {"multipart/form-data", "audio/*"}
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert {"200", "401", "422", "429"} <= set(login["responses"])
    assert "application/problem+json" in login["responses"]["401"]["content"]
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"bearer": []}]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_interactive_docs_are_served(app: Flask) -> None:
    client = app.test_client()
    index = client.get("/api/docs/")
    assert index.status_code == 200
    swagger = client.get("/api/docs/swagger")
    assert swagger.status_code == 200 and b"swagger-ui" in swagger.data
    assert b"openapi.json" in swagger.data
