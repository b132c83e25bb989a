"""schemathesis against our own OpenAPI document: no 5xx, and no response outside the schema;
and every JSON operation fed bodies nested too deep, and chunked ones within and past the
limit."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api import create_app
from storage.db import Database
from storage.local import LocalStore
from veza.accounts import AccountService
from veza.runtime import Services
from veza.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def fuzzed(database_url: str, local_store: LocalStore, tmp_path: Path) -> Iterator[Any]:
    # Limits off: the fuzzer sends far more requests than any client would.
    config = Settings(database_url=database_url, data_dir=tmp_path, signing_key="k" * 64,
                      rate_limit_auth="0", rate_limit_read="0", rate_limit_upload="0",
                      login_limit_account="100000/hour", login_limit_ip="100000/hour",
                      max_upload_bytes=1024 * 1024)
    services = Services(settings=config, db=Database(database_url), store=local_store)
    app = create_app(config, services)
    yield app, services
    services.close()


@pytest.fixture
def api_schema(fuzzed: Any) -> Any:
    app, _ = fuzzed
    return schemathesis.openapi.from_wsgi("/api/docs/openapi.json", app)


@pytest.fixture
def artist(fuzzed: Any) -> dict[str, str]:
    _, services = fuzzed
    tokens = AccountService(services).create("fuzz", "fuzz@example.org", "a long password 1",
                                             "admin")
    return {"Authorization": f"Bearer {tokens.access_token}"}


def _operations(api: Any) -> list[Any]:
    operations = []
    for result in api.get_all_operations():
        operations.append(result.ok())
    return operations


def test_api_answers_within_its_schema(api_schema: Any, artist: dict[str, str]) -> None:
    """Every documented operation, with generated valid and invalid input, as an admin."""
    operations = _operations(api_schema)
    assert len(operations) >= 10
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            # Valid input may still be refused for what it means (a wrong password, an id that
            # does not exist): that is not a schema failure, so positive acceptance is off.
            case.call_and_validate(headers=artist, excluded_checks=[positive_data_acceptance])

        try:
            fuzz()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def _json_operations(api: Any) -> list[Any]:
    return [operation for operation in _operations(api)
            if "application/json" in operation.get_request_payload_content_types()]


def test_nested_and_chunked_bodies_get_a_clear_answer(
    fuzzed: Any, api_schema: Any, artist: dict[str, str]
) -> None:
    """Every operation that takes JSON, on generated paths and bodies: nested past the limit
    (alone or as a field), sent chunked, and chunked past the size limit."""
    app, _ = fuzzed
    client = app.test_client()
    operations = _json_operations(api_schema)
    assert len(operations) >= 8
    deep = "[" * 1000 + "]" * 1000
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=3, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            def send(raw: bytes, *, chunked: bool) -> Any:
                framing: dict[str, Any] = {"data": raw}
                if chunked:  # as a server passes a chunked body: no length, its own end
                    framing = {"input_stream": io.BytesIO(raw),
                               "environ_overrides": {"wsgi.input_terminated": True},
                               "headers": {**artist, "Transfer-Encoding": "chunked"}}
                return client.open(case.formatted_path, method=case.method,
                                   query_string=case.query, content_type="application/json",
                                   **{"headers": artist, **framing})

            body = json.dumps(case.body).encode() if isinstance(case.body, dict) else b"{}"
            for raw, chunked in [(deep.encode(), False), (deep.encode(), True),
                                 (body[:-1] + b', "x": ' + deep.encode() + b"}", False)]:
                refused = send(raw, chunked=chunked)
                assert refused.status_code == 400, (raw[:40], refused.get_data(as_text=True))
                assert refused.get_json()["code"] == "too_deep"
            padded = body + b" " * (70 * 1024)
            too_large = send(padded, chunked=True)
            assert too_large.status_code == 413 and too_large.get_json()["code"] == "too_large"
            answered = send(body, chunked=True)
            assert answered.status_code < 500, answered.get_data(as_text=True)
            if answered.status_code >= 400:
                assert answered.mimetype == "application/problem+json"

        try:
            fuzz()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
