"""Build the platform's services from settings: the composition root every entry point uses."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from storage.db import Database
from storage.objects import ObjectStore
from veza.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What request handlers and stages need: settings, the database and the object store."""

    settings: Settings
    db: Database
    store: ObjectStore

    def close(self) -> None:
        self.db.close()


def database_url(settings: Settings) -> str:
    """Return the database DSN, starting embedded PostgreSQL when none is configured."""
    if settings.database_url:
        return settings.database_url
    from storage.embedded import start_embedded_postgres

    return start_embedded_postgres(settings.data_dir)


def build_store(settings: Settings) -> ObjectStore:
    """Return the S3 store when an endpoint is configured, else the local-directory store."""
    if settings.s3_endpoint:
        from storage.s3 import S3Store

        store: ObjectStore = S3Store(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            secure=settings.s3_secure,
            public_endpoint=settings.s3_public_endpoint,
        )
    else:
        from storage.local import LocalStore

        settings = settings.with_signing_key()
        store = LocalStore(
            settings.data_dir / "store",
            base_url=settings.base_url,
            signing_key=settings.signing_key,
        )
    return store


def build_services(settings: Settings, *, migrate: bool | None = None) -> Services:
    """Connect to (or start) the database and the object store.

    ``migrate`` defaults to True on the embedded database, where nobody else would run
    `veza db upgrade`, and to False against a shared server.
    """
    dsn = database_url(settings)
    if migrate is None:
        migrate = settings.embedded_database
    if migrate:
        from storage.migrate import upgrade

        upgrade(dsn)
    store = build_store(settings)
    store.ensure_bucket()
    return Services(settings=settings, db=Database(dsn), store=store)
