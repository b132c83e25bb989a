"""The API over a test database of its own and the local object store, for the HTTP tests.

A module changes settings by overriding ``settings_changes``, or brings its own ``services``
(S3, a broker) where it needs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api import create_app
from storage.db import Database
from storage.local import LocalStore
from veza.runtime import Services
from veza.settings import Settings


@pytest.fixture
def settings_changes() -> dict[str, Any]:
    """Settings a module wants other than the defaults below."""
    return {}


@pytest.fixture
def services(database_url: str, local_store: LocalStore, tmp_path: Path,
             settings_changes: dict[str, Any]) -> Iterator[Services]:
    # No build of the web app unless a module gives one (web/dist may exist or not here).
    settings = Settings(database_url=database_url, data_dir=tmp_path, signing_key="k" * 64,
                        web_dir=tmp_path / "no-web-build")
    settings = settings.replace(**settings_changes)
    svc = Services(settings=settings, db=Database(database_url), store=local_store)
    yield svc
    svc.close()


@pytest.fixture
def client(services: Services) -> FlaskClient:
    return create_app(services.settings, services).test_client()
