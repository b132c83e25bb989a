"""Apply the one migrations folder with alembic."""

from __future__ import annotations

from pathlib import Path

import psycopg2
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from storage.db import translate_errors

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _engine(dsn: str):  # type: ignore[no-untyped-def]
    # psycopg2 parses every DSN form libpq knows (URLs, unix sockets in ?host=, key=value).
    return create_engine("postgresql+psycopg2://", creator=lambda: psycopg2.connect(dsn),
                         poolclass=NullPool)


def upgrade(dsn: str, revision: str = "head") -> str:
    """Bring the schema up to ``revision`` and return the revision now applied."""
    config = _config()
    with translate_errors():
        engine = _engine(dsn)
        try:
            with engine.begin() as conn:
                # One upgrader at a time when several processes start together.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7012026)")
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
            return current(dsn) or ""
        finally:
            engine.dispose()


def current(dsn: str) -> str | None:
    """Return the revision the database is at, or None before the first migration."""
    with translate_errors():
        engine = _engine(dsn)
        try:
            with engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        finally:
            engine.dispose()


def head() -> str:
    """Return the newest revision in the migrations folder."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head
