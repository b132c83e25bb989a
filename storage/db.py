"""PostgreSQL through a psycopg2 connection pool, with one transaction helper."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras
import psycopg2.pool

from veza.errors import DatabaseError

psycopg2.extras.register_uuid()

# Errors that mean the server or the connection is gone, not that our SQL is wrong.
_UNAVAILABLE = (psycopg2.OperationalError, psycopg2.InterfaceError)
# A pooled connection idle longer than this is checked before use: the server may have
# restarted meanwhile, and a dead connection only shows it on the next statement.
_PING_AFTER_IDLE_S = 1.0


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn psycopg2's connection failures into DatabaseError."""
    try:
        yield
    except _UNAVAILABLE as exc:
        raise DatabaseError(f"database unavailable: {str(exc).strip()}") from exc


class Database:
    """A lazily created pool of connections to one PostgreSQL database."""

    def __init__(self, dsn: str, *, max_connections: int = 10, connect_timeout: int = 5) -> None:
        self.dsn = dsn
        self._max = max_connections
        self._connect_timeout = connect_timeout
        self._pool: psycopg2.pool.ThreadedConnectionPool | None = None
        self._lock = threading.Lock()
        self._returned: dict[int, float] = {}

    def _get_pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        with self._lock:
            if self._pool is None:
                with translate_errors():
                    pool = psycopg2.pool.ThreadedConnectionPool(
                        0, self._max, self.dsn, connect_timeout=self._connect_timeout
                    )
                # Opened lazily (minconn 0 at creation), but kept once opened: psycopg2 closes
                # a returned connection when the pool holds ``minconn`` idle ones already.
                pool.minconn = self._max
                self._pool = pool
            return self._pool

    def _checkout(self, pool: psycopg2.pool.ThreadedConnectionPool
                  ) -> psycopg2.extensions.connection:
        """Take a live connection from the pool, replacing idle ones the server dropped."""
        for _ in range(self._max + 1):
            with translate_errors():
                conn = pool.getconn()
            idle = time.monotonic() - self._returned.pop(id(conn), 0.0)
            if conn.closed:
                pool.putconn(conn, close=True)
                continue
            if idle < _PING_AFTER_IDLE_S:
                return conn
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                conn.rollback()
                return conn
            except _UNAVAILABLE:
                pool.putconn(conn, close=True)
        raise DatabaseError("database unavailable: no live connection")

    def connect(self) -> psycopg2.extensions.connection:
        """Open a dedicated connection outside the pool (for LISTEN, long-lived work)."""
        with translate_errors():
            return psycopg2.connect(self.dsn, connect_timeout=self._connect_timeout)

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extras.RealDictCursor]:
        """Run a block in one transaction: commit on success, roll back on any error."""
        pool = self._get_pool()
        conn = self._checkout(pool)
        broken = False
        try:
            with translate_errors():
                if conn.closed:
                    raise psycopg2.InterfaceError("connection already closed")
                with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                    yield cur
                conn.commit()
        except BaseException:
            broken = bool(conn.closed)
            if not broken:
                try:
                    conn.rollback()
                except _UNAVAILABLE:
                    broken = True
            raise
        finally:
            close = broken or bool(conn.closed)
            if not close:
                self._returned[id(conn)] = time.monotonic()
            pool.putconn(conn, close=close)

    def execute(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        """Run one statement in its own transaction and return its rows, if any."""
        with self.transaction() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            if self._pool is not None:
                self._pool.closeall()
                self._pool = None
