"""The one settings object, read once from ``VEZA_*`` environment variables."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from veza.errors import ConfigError


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _ladder(env: Mapping[str, str]) -> tuple[int, ...]:
    raw = env.get("VEZA_LADDER")
    if not raw:
        return (64_000, 128_000, 256_000)
    try:
        rungs = tuple(sorted({int(part.strip().lower().removesuffix("k")) * 1000
                              for part in raw.split(",") if part.strip()}))
    except ValueError:
        raise ConfigError(f"VEZA_LADDER must list bitrates in kb/s like '64,128,256', "
                          f"got {raw!r}") from None
    if not rungs or any(not 16_000 <= r <= 512_000 for r in rungs):
        raise ConfigError(f"VEZA_LADDER bitrates must be 16-512 kb/s, got {raw!r}")
    return rungs


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the embedded defaults of a single machine.

    ``database_url`` None means embedded PostgreSQL under ``data_dir``; ``s3_endpoint`` None means
    a local-directory object store under ``data_dir``; ``broker_url`` None means the task engine's
    in-memory broker with worker threads inside the API process.
    """

    data_dir: Path = Path(".veza")
    database_url: str | None = None
    broker_url: str | None = None
    s3_endpoint: str | None = None
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "veza"
    s3_region: str = "us-east-1"
    s3_secure: bool = False
    # Where clients reach the S3 server, when it differs from where the platform reaches it.
    s3_public_endpoint: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Both API servers close a connection that sends nothing for this long (awaited without a
    # thread).
    api_idle_timeout_s: float = 15.0
    # Both API servers cut off a request whose line and headers take longer (a slow trickle).
    api_header_timeout_s: float = 15.0
    # Both cut off a request body that averages under this many bytes a second (counting only
    # the time spent waiting for it), with up to a window's worth of stall: a trickle.
    api_min_body_rate: float = 1024.0
    api_body_rate_window_s: float = 30.0
    # Base URL clients use to reach the API; derived from host and port when unset.
    public_url: str | None = None
    max_upload_bytes: int = 500 * 1024 * 1024
    # Longest audio accepted, in seconds of decoded sound: refused at upload when the file
    # declares more, and decoding stops there whatever the header says.
    max_duration_s: float = 4 * 3600.0
    signed_url_ttl_s: int = 600
    # Key for URLs signed by the API itself (the local-directory store).
    signing_key: str = field(default="", repr=False)
    segment_seconds: float = 6.0
    # The ABR ladder, AAC-LC bitrates in bits/s, and an optional lossless FLAC rung.
    ladder: tuple[int, ...] = (64_000, 128_000, 256_000)
    flac_rung: bool = False
    target_lufs: float = -14.0
    worker_threads: int = 2
    job_max_attempts: int = 3
    # A running job's lease: its worker renews it every third of this; a job whose lease
    # expired is taken over by another worker.
    job_lease_s: float = 60.0
    outbox_poll_s: float = 1.0
    queue_prefix: str = "veza"
    # The task engine behind tasks.engine: "dramatiq" (default) or "celery".
    task_engine: str = "dramatiq"
    # Port of the Prometheus endpoint a worker or relay process serves (None: none served).
    metrics_port: int | None = None
    # Client addresses and networks (CIDR) the API's /metrics answers; others get 403.
    metrics_allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # Log lines as "text" for people or "json" for log collectors.
    log_format: str = "text"
    # Tracks at least this long are split into chunks of ``chunk_seconds`` that any worker can
    # encode; shorter ones are encoded in one pass. ``chunk_seconds`` is a whole number of
    # segments.
    parallel_min_s: float = 600.0
    chunk_seconds: float = 120.0
    # Redis for shared rate limits (None: limits kept in this process, as on embedded defaults).
    redis_url: str | None = None
    # Accounts: access tokens are short-lived JWTs; refresh tokens rotate and last longer.
    access_token_ttl_s: int = 300
    refresh_token_ttl_s: int = 30 * 24 * 3600
    # Seconds a spent refresh token may come back (an aborted page load) before it is reuse.
    refresh_reuse_grace_s: int = 10
    # Login attempts allowed per account and per client address ("N/second|minute|hour").
    login_limit_account: str = "10/minute"
    login_limit_ip: str = "30/minute"
    # Requests allowed per scope: account calls and uploads per client, reads per client
    # address ("N/second|minute|hour"; "0" turns a scope's limit off).
    rate_limit_auth: str = "60/minute"
    rate_limit_upload: str = "120/hour"
    rate_limit_read: str = "6000/minute"
    # Refreshes per client address: the web app refreshes on every page load, so people behind
    # one address (an office, a campus) need more than account calls; a token is unguessable.
    rate_limit_refresh: str = "600/minute"
    # Origins allowed to call the API from a browser (CORS); none by default.
    cors_origins: tuple[str, ...] = ()
    # Reverse proxies in front of the API (HAProxy: 1) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; 0 believes none, so a client cannot pick its address.
    trusted_proxies: int = 0
    # Seconds an anonymous read (a public track, a catalogue or search page) is served from
    # memory before the database is asked again; 0 turns the cache off.
    read_cache_ttl_s: float = 1.0
    # Chat gateway: where it listens, messages allowed per user ("N/second|minute|hour"; "0"
    # for none), and how long presence lasts without a heartbeat.
    chat_host: str = "127.0.0.1"
    chat_port: int = 8001
    chat_rate_limit: str = "20/minute"
    chat_presence_ttl_s: float = 30.0
    # Rooms (room.create) a chat user may make ("N/second|minute|hour"; "0" for no limit), and
    # the sockets one user may hold open over every gateway (more are closed with 1008).
    chat_room_limit: str = "10/hour"
    chat_max_sockets: int = 20
    # Where browsers reach the chat gateway: an absolute ws:// or wss:// URL, or a path such as
    # "/ws" resolved against the page (behind the front door); None: the gateway's own
    # host and port.
    chat_public_url: str | None = None
    # The built web app (index.html and assets/); None: web/dist beside the source tree when
    # it was built there, else the copy a wheel carries inside the api package.
    web_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``VEZA_*`` variables once; anything unset keeps its embedded default."""
        env = os.environ if environ is None else environ
        s3_endpoint = env.get("VEZA_S3_ENDPOINT") or None
        settings = cls(
            data_dir=Path(env.get("VEZA_DATA_DIR") or ".veza"),
            database_url=env.get("VEZA_DATABASE_URL") or None,
            broker_url=env.get("VEZA_BROKER_URL") or None,
            s3_endpoint=s3_endpoint,
            s3_access_key=env.get("VEZA_S3_ACCESS_KEY", ""),
            s3_secret_key=env.get("VEZA_S3_SECRET_KEY", ""),
            s3_bucket=env.get("VEZA_S3_BUCKET") or "veza",
            s3_region=env.get("VEZA_S3_REGION") or "us-east-1",
            s3_secure=_bool(env, "VEZA_S3_SECURE", False),
            s3_public_endpoint=env.get("VEZA_S3_PUBLIC_ENDPOINT") or None,
            api_host=env.get("VEZA_API_HOST") or "127.0.0.1",
            api_port=_int(env, "VEZA_API_PORT", 8000),
            api_idle_timeout_s=_float(env, "VEZA_API_IDLE_TIMEOUT_S", 15.0),
            api_header_timeout_s=_float(env, "VEZA_API_HEADER_TIMEOUT_S", 15.0),
            api_min_body_rate=_float(env, "VEZA_API_MIN_BODY_RATE", 1024.0),
            api_body_rate_window_s=_float(env, "VEZA_API_BODY_RATE_WINDOW_S", 30.0),
            public_url=(env.get("VEZA_PUBLIC_URL") or None),
            max_upload_bytes=_int(env, "VEZA_MAX_UPLOAD_BYTES", 500 * 1024 * 1024),
            max_duration_s=_float(env, "VEZA_MAX_DURATION_S", 4 * 3600.0),
            signed_url_ttl_s=_int(env, "VEZA_SIGNED_URL_TTL", 600),
            signing_key=env.get("VEZA_SIGNING_KEY", ""),
            ladder=_ladder(env),
            flac_rung=_bool(env, "VEZA_FLAC_RUNG", False),
            target_lufs=_float(env, "VEZA_TARGET_LUFS", -14.0),
            worker_threads=_int(env, "VEZA_WORKER_THREADS", 2),
            job_max_attempts=_int(env, "VEZA_JOB_MAX_ATTEMPTS", 3),
            job_lease_s=_float(env, "VEZA_JOB_LEASE_S", 60.0),
            queue_prefix=env.get("VEZA_QUEUE_PREFIX") or "veza",
            task_engine=(env.get("VEZA_TASK_ENGINE") or "dramatiq").strip().lower(),
            metrics_port=_int(env, "VEZA_METRICS_PORT", 0) or None,
            metrics_allow=tuple(a.strip() for a in (env.get("VEZA_METRICS_ALLOW") or
                                                     "127.0.0.0/8,::1/128").split(",")
                                if a.strip()),
            log_format=(env.get("VEZA_LOG_FORMAT") or "text").strip().lower(),
            parallel_min_s=_float(env, "VEZA_PARALLEL_MIN_S", 600.0),
            chunk_seconds=_float(env, "VEZA_CHUNK_SECONDS", 120.0),
            redis_url=env.get("VEZA_REDIS_URL") or None,
            access_token_ttl_s=_int(env, "VEZA_ACCESS_TOKEN_TTL", 300),
            refresh_token_ttl_s=_int(env, "VEZA_REFRESH_TOKEN_TTL", 30 * 24 * 3600),
            refresh_reuse_grace_s=_int(env, "VEZA_REFRESH_REUSE_GRACE_S", 10),
            login_limit_account=env.get("VEZA_LOGIN_LIMIT_ACCOUNT") or "10/minute",
            login_limit_ip=env.get("VEZA_LOGIN_LIMIT_IP") or "30/minute",
            rate_limit_auth=env.get("VEZA_RATE_LIMIT_AUTH") or "60/minute",
            rate_limit_upload=env.get("VEZA_RATE_LIMIT_UPLOAD") or "120/hour",
            rate_limit_read=env.get("VEZA_RATE_LIMIT_READ") or "6000/minute",
            rate_limit_refresh=env.get("VEZA_RATE_LIMIT_REFRESH") or "600/minute",
            cors_origins=tuple(o.strip().rstrip("/") for o in
                               (env.get("VEZA_CORS_ORIGINS") or "").split(",") if o.strip()),
            trusted_proxies=_int(env, "VEZA_TRUSTED_PROXIES", 0),
            read_cache_ttl_s=_float(env, "VEZA_READ_CACHE_TTL", 1.0),
            chat_host=env.get("VEZA_CHAT_HOST") or "127.0.0.1",
            chat_port=_int(env, "VEZA_CHAT_PORT", 8001),
            chat_rate_limit=env.get("VEZA_CHAT_RATE_LIMIT") or "20/minute",
            chat_presence_ttl_s=_float(env, "VEZA_CHAT_PRESENCE_TTL", 30.0),
            chat_room_limit=env.get("VEZA_CHAT_ROOM_LIMIT") or "10/hour",
            chat_max_sockets=_int(env, "VEZA_CHAT_MAX_SOCKETS", 20),
            chat_public_url=env.get("VEZA_CHAT_PUBLIC_URL") or None,
            web_dir=Path(env["VEZA_WEB_DIR"]) if env.get("VEZA_WEB_DIR") else None,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ConfigError when values cannot work together."""
        if self.s3_endpoint and not (self.s3_access_key and self.s3_secret_key):
            raise ConfigError("VEZA_S3_ENDPOINT is set but VEZA_S3_ACCESS_KEY/SECRET_KEY are not")
        if self.max_upload_bytes <= 0:
            raise ConfigError("VEZA_MAX_UPLOAD_BYTES must be positive")
        if not self.max_duration_s > 0:
            raise ConfigError("VEZA_MAX_DURATION_S must be positive")
        if not self.api_idle_timeout_s > 0:
            raise ConfigError("VEZA_API_IDLE_TIMEOUT_S must be positive")
        if not (self.api_min_body_rate > 0 and self.api_body_rate_window_s > 0):
            raise ConfigError("VEZA_API_MIN_BODY_RATE and VEZA_API_BODY_RATE_WINDOW_S must be "
                              "positive")
        if not self.job_lease_s >= 1:
            raise ConfigError("VEZA_JOB_LEASE_S must be at least 1 second")
        if self.job_max_attempts < 1:
            raise ConfigError("VEZA_JOB_MAX_ATTEMPTS must be at least 1")
        if not 1 <= self.api_port <= 65535:
            raise ConfigError(f"VEZA_API_PORT out of range: {self.api_port}")
        if self.task_engine not in ("dramatiq", "celery"):
            raise ConfigError(f"VEZA_TASK_ENGINE must be dramatiq or celery, "
                              f"got {self.task_engine!r}")
        if not 0 <= self.trusted_proxies <= 5:
            raise ConfigError(f"VEZA_TRUSTED_PROXIES must be 0-5, got {self.trusted_proxies}")
        if not 0 <= self.read_cache_ttl_s <= 60:
            raise ConfigError("VEZA_READ_CACHE_TTL must be 0-60 seconds")
        if not 1 <= self.chat_port <= 65535:
            raise ConfigError(f"VEZA_CHAT_PORT out of range: {self.chat_port}")
        if not 3 <= self.chat_presence_ttl_s <= 3600:
            raise ConfigError("VEZA_CHAT_PRESENCE_TTL must be 3-3600 seconds")
        if not 1 <= self.chat_max_sockets <= 10_000:
            raise ConfigError("VEZA_CHAT_MAX_SOCKETS must be 1-10000")
        if self.metrics_port is not None and not 1 <= self.metrics_port <= 65535:
            raise ConfigError(f"VEZA_METRICS_PORT out of range: {self.metrics_port}")
        for network in self.metrics_allow:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(f"VEZA_METRICS_ALLOW entries must be addresses or networks "
                                  f"like 10.0.0.0/8, got {network!r}") from None
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"VEZA_LOG_FORMAT must be text or json, got {self.log_format!r}")
        if not 10 <= self.access_token_ttl_s <= 3600:
            raise ConfigError("VEZA_ACCESS_TOKEN_TTL must be 10-3600 seconds")
        if self.refresh_token_ttl_s < self.access_token_ttl_s:
            raise ConfigError("VEZA_REFRESH_TOKEN_TTL must be at least VEZA_ACCESS_TOKEN_TTL")
        if not 0 <= self.refresh_reuse_grace_s <= 300:
            raise ConfigError("VEZA_REFRESH_REUSE_GRACE_S must be 0-300 seconds")
        for name, value in (("VEZA_LOGIN_LIMIT_ACCOUNT", self.login_limit_account),
                            ("VEZA_LOGIN_LIMIT_IP", self.login_limit_ip),
                            ("VEZA_RATE_LIMIT_AUTH", self.rate_limit_auth),
                            ("VEZA_RATE_LIMIT_UPLOAD", self.rate_limit_upload),
                            ("VEZA_RATE_LIMIT_READ", self.rate_limit_read),
                            ("VEZA_RATE_LIMIT_REFRESH", self.rate_limit_refresh),
                            ("VEZA_CHAT_RATE_LIMIT", self.chat_rate_limit),
                            ("VEZA_CHAT_ROOM_LIMIT", self.chat_room_limit)):
            if value != "0" and not re.fullmatch(r"[1-9]\d*/(second|minute|hour)", value):
                raise ConfigError(f"{name} must look like '10/minute' (or 0 for none), "
                                  f"got {value!r}")
        for origin in self.cors_origins:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ConfigError(f"VEZA_CORS_ORIGINS entries must be origins like "
                                  f"https://app.example.org, got {origin!r}")
        if "*" in self.cors_origins:
            raise ConfigError("VEZA_CORS_ORIGINS must name origins; '*' would open the API to "
                              "every site")
        if self.chat_public_url is not None and not re.fullmatch(
                r"wss?://[^/\s]+(/\S*)?|/\S*", self.chat_public_url):
            raise ConfigError(f"VEZA_CHAT_PUBLIC_URL must be a ws:// or wss:// URL or a path "
                              f"like /ws, got {self.chat_public_url!r}")
        segments = self.chunk_seconds / self.segment_seconds
        if self.chunk_seconds <= 0 or abs(segments - round(segments)) > 1e-9:
            raise ConfigError(f"VEZA_CHUNK_SECONDS must be a positive multiple of the "
                              f"{self.segment_seconds:g} s segment, got {self.chunk_seconds:g}")
        if self.parallel_min_s < self.chunk_seconds:
            raise ConfigError("VEZA_PARALLEL_MIN_S must be at least VEZA_CHUNK_SECONDS")

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_store(self) -> bool:
        return self.s3_endpoint is None

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url is None

    @property
    def base_url(self) -> str:
        """Return the URL clients use to reach the API, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.api_host}:{self.api_port}"

    def with_signing_key(self) -> Settings:
        """Return settings whose signing key is set, keeping one under ``data_dir`` if needed."""
        if self.signing_key:
            return self
        path = self.data_dir / "signing.key"
        if not path.exists():
            # Several processes may start at once (gunicorn's workers): the first to link its
            # key into place wins, and every process then reads that one.
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".signing.key.{os.getpid()}.{secrets.token_hex(4)}")
            draft.write_text(secrets.token_hex(32))
            draft.chmod(0o600)
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return replace(self, signing_key=path.read_text().strip())

    def derived_key(self, purpose: str) -> bytes:
        """Return a key for one purpose, derived from the signing key: what is signed for one
        purpose (access tokens, cursors, stream grants...) is never accepted for another."""
        return _derive_key(self.with_signing_key().signing_key or "", purpose)

    def replace(self, **changes: object) -> Settings:
        """Return a copy with some fields changed."""
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ConfigError(f"unknown settings: {sorted(unknown)}")
        return replace(self, **changes)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=32)
def _derive_key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()
