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
from typing import TYPE_CHECKING, Any

from veza.errors import ConfigError, InputError, NotFoundError, VezaError
from veza.settings import Settings

if TYPE_CHECKING:
    from tasks.actors import Bound
    from tasks.engine import TaskEngine

log = logging.getLogger("veza")


def _logging(verbose: bool = True) -> None:
    # main() chose the format; services log their progress, one-shot commands only problems.
    logging.getLogger().setLevel(logging.INFO if verbose else logging.WARNING)


def _metrics_server(settings: Settings, *, processes: bool = False) -> Any:
    """Serve this process's metrics on VEZA_METRICS_PORT when it is set."""
    if settings.metrics_port is None:
        return None
    from veza.metrics import MetricsServer

    return MetricsServer(settings.api_host, settings.metrics_port, multiprocess=processes)


def _stop_on_signal() -> threading.Event:
    """Turn SIGINT/SIGTERM into an event; installed first, so a signal during start-up
    still ends in an orderly stop."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _wait(stop: threading.Event) -> None:
    while not stop.is_set():
        stop.wait(1.0)


def _warm_up() -> None:
    from pipeline.process import warm_up

    log.info("analysers warmed up in %.1f s", warm_up())


def cmd_warm_up(args: argparse.Namespace, settings: Settings) -> int:
    """Compile the analysers' kernels into Numba's on-disk cache (beside the sources, or
    NUMBA_CACHE_DIR), so the first track a worker processes does not pay for it."""
    from pipeline.process import warm_up

    print("warming up the analysers...", end=" ", flush=True)
    print(f"done in {warm_up():.1f} s", flush=True)
    return 0


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


def cmd_jobs_retry(args: argparse.Namespace, settings: Settings) -> int:
    from veza import jobs
    from veza.runtime import build_services

    try:
        job_id = uuid.UUID(args.job_id)
    except ValueError:
        raise InputError(f"not a job id: {args.job_id!r}") from None
    services = build_services(settings, migrate=False)
    try:
        job = jobs.retry(services, job_id)
    finally:
        services.close()
    print(f"job {job.id} queued again (track {job.track_id})")
    return 0


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    from veza.accounts import AccountService
    from veza.runtime import build_services

    password = os.environ.get("VEZA_PASSWORD")
    if password is None:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise InputError("give the password on stdin or in VEZA_PASSWORD")
    services = build_services(settings, migrate=False)
    try:
        tokens = AccountService(services).create(
            args.handle.strip().lower(), args.email.strip().lower(), password, args.role,
            display_name=args.display_name)
    finally:
        services.close()
    print(f"{tokens.user.role} {tokens.user.handle} created (id {tokens.user.id})")
    return 0


# ---------------------------------------------------------------- serve


def cmd_serve_api(args: argparse.Namespace, settings: Settings) -> int:
    from api.server import serve_gunicorn

    _logging()
    if args.port:
        settings = settings.replace(api_port=args.port)
    if args.host:
        settings = settings.replace(api_host=args.host)
    from veza.metrics import multiprocess_dir

    with multiprocess_dir():  # each gunicorn worker counts; any of them answers /metrics
        serve_gunicorn(settings, workers=args.workers, threads=args.threads)
    return 0


def cmd_serve_chat(args: argparse.Namespace, settings: Settings) -> int:
    from chat.runner import serve
    from veza.runtime import build_services

    _logging()
    services = build_services(settings)
    try:
        serve(services, host=args.host, port=args.port)
    finally:
        services.close()
    return 0


def cmd_serve_worker(args: argparse.Namespace, settings: Settings) -> int:
    from tasks.actors import Bound, build_engine, build_relay
    from tasks.reaper import Reaper
    from veza.runtime import build_services

    _logging()
    stop = _stop_on_signal()
    if settings.embedded_broker:
        raise ConfigError("`veza serve worker` needs VEZA_BROKER_URL (amqp://...); "
                          "`veza up` runs API and workers in one process instead")
    exporter = _metrics_server(settings, processes=settings.task_engine == "celery")
    services = build_services(settings, migrate=False)
    bound = Bound(services)
    engine = build_engine(services, bound)
    threads = args.threads or settings.worker_threads
    if engine.forks_workers:
        try:
            return _serve_forking_worker(engine, bound, stop, threads=threads,
                                         with_relay=not args.no_relay)
        finally:
            if exporter is not None:
                exporter.stop()
    relay = reaper = None
    if not args.no_relay:
        relay = build_relay(services, engine)
        relay.start()
        reaper = Reaper(services)
        reaper.start()
    _warm_up()
    engine.start_worker(threads=threads)
    log.info("%s worker running with %d threads%s", engine.name, threads,
             "" if relay is None else ", the outbox relay and the reaper")
    _wait(stop)
    log.info("worker stopping")
    if relay is not None:
        relay.stop()
    if reaper is not None:
        reaper.stop()
    engine.stop()
    services.close()
    if exporter is not None:
        exporter.stop()
    return 0


def _serve_forking_worker(engine: TaskEngine, bound: Bound, stop: threading.Event, *,
                          threads: int, with_relay: bool) -> int:
    """Run a worker whose engine forks child processes (Celery's prefork pool)."""
    import multiprocessing

    relay = None
    if with_relay:
        # A forked child inherits only the thread that forked it, and whatever locks the other
        # threads held: the relay and the reaper run in a process of their own instead.
        relay = multiprocessing.get_context("spawn").Process(
            target=_relay_process, args=(bound.services.settings,), name="veza-relay")
        relay.start()
    try:
        _warm_up()  # before forking: the children inherit warm analysers
        log.info("%s worker running with %d processes%s", engine.name, threads,
                 "" if relay is None else "; the outbox relay and the reaper in process "
                 f"{relay.pid}")
        engine.run_worker(concurrency=threads, stop=stop, on_process_init=bound.reopen)
    finally:
        log.info("worker stopping")
        if relay is not None:
            relay.terminate()
            relay.join(timeout=30)
        engine.stop()
        bound.services.close()
    return 0


def _relay_process(settings: Settings) -> None:
    _logging()
    _run_relay(settings, _stop_on_signal())


def _run_relay(settings: Settings, stop: threading.Event) -> None:
    from tasks.actors import build_engine, build_relay
    from tasks.reaper import Reaper
    from veza.runtime import build_services

    services = build_services(settings, migrate=False)
    engine = build_engine(services)
    relay = build_relay(services, engine)
    relay.start()
    reaper = Reaper(services)
    reaper.start()
    log.info("outbox relay and reaper running")
    _wait(stop)
    relay.stop()
    reaper.stop()
    engine.stop()
    services.close()


def cmd_serve_relay(args: argparse.Namespace, settings: Settings) -> int:
    _logging()
    stop = _stop_on_signal()
    if settings.embedded_broker:
        raise ConfigError("`veza serve relay` needs VEZA_BROKER_URL (amqp://...)")
    exporter = _metrics_server(settings)
    try:
        _run_relay(settings, stop)
    finally:
        if exporter is not None:
            exporter.stop()
    return 0


def cmd_serve_chat_archiver(args: argparse.Namespace, settings: Settings) -> int:
    from chat.archiver import serve

    _logging()
    stop = _stop_on_signal()
    exporter = _metrics_server(settings)
    try:
        serve(settings, stop)
    finally:
        if exporter is not None:
            exporter.stop()
    return 0


# ---------------------------------------------------------------- up


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from api.server import ThreadedServer
    from tasks.actors import build_engine, build_relay, recover_unfinished
    from tasks.engine import DramatiqEngine
    from tasks.reaper import Reaper
    from veza.runtime import build_services

    _logging()
    stop = _stop_on_signal()
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
    if isinstance(engine, DramatiqEngine) and engine.in_memory:
        from veza import metrics

        metrics.read_queues_in_process(metrics.memory_reader(engine.broker))
        recover_unfinished(services)
    relay = build_relay(services, engine)
    relay.start()
    reaper = Reaper(services)
    reaper.start()
    from chat.runner import GatewayThread

    # The chat runs beside the API on in-process ports; the pipeline's events reach it here.
    chat = GatewayThread(services)
    try:
        chat_port = chat.start(settings.chat_host, settings.chat_port)
    except OSError as exc:  # another program holds the chat port: the API still comes up
        log.warning("chat port %s is in use (%s); the chat takes a free port",
                    settings.chat_port, exc)
        chat = GatewayThread(services)
        chat_port = chat.start(settings.chat_host, 0)
    relay.events.subscribe(chat.deliver_track_event)
    from api.config import announce_chat_url, gateway_url

    chat_url = gateway_url(settings.chat_host, chat_port)
    announce_chat_url(server.server.app, chat_url)  # type: ignore[arg-type]
    server.start()

    def start_worker() -> None:
        try:
            _warm_up()
        except RuntimeError as exc:
            # Stopped while compiling: the interpreter refuses the compiler's new threads.
            if not stop.is_set():
                raise
            log.info("warm-up cut short: Veza is stopping (%s)", exc)
            return
        if not stop.is_set():
            engine.start_worker(threads=settings.worker_threads)

    # The API answers at once; jobs wait in the queue until the analysers are warm.
    threading.Thread(target=start_worker, name="veza-warm-up", daemon=True).start()
    base = settings.base_url
    where = {
        "database": "embedded PostgreSQL" if settings.embedded_database else "PostgreSQL",
        "objects": f"{settings.data_dir / 'store'}" if settings.embedded_store
        else f"S3 {settings.s3_endpoint}",
        "queue": "in-process" if engine.in_memory else "RabbitMQ",
    }
    from api.web import build_dir

    web = build_dir(settings)
    app = "open it in a browser" if (web / "index.html").is_file() else \
        "no web app: it was not built (Node 20 and `make demo` build it)"
    print(f"Veza is up at {base}/  ({app}; "
          f"{', '.join(f'{k}: {v}' for k, v in where.items())})")
    print(f"  sign up: curl -H 'Content-Type: application/json' -d '{{\"handle\": \"me\", "
          f"\"email\": \"me@example.org\", \"password\": \"at least 10 characters\", "
          f"\"role\": \"artist\"}}' {base}/api/v1/auth/register   (or /auth/login)")
    print(f"  chat:    {chat_url}?token=$ACCESS_TOKEN")
    print(f"  upload:  curl -H \"Authorization: Bearer $ACCESS_TOKEN\" "
          f"--data-binary @song.mp3 '{base}/api/v1/tracks?filename=song.mp3'")
    sys.stdout.flush()
    try:
        if args.demo and not stop.is_set():
            _demo(settings, stop)
        _wait(stop)
    finally:
        print("Veza is stopping", flush=True)
        server.stop()
        chat.stop()
        relay.stop()
        reaper.stop()
        engine.stop()
        services.close()
    return 0


DEMO_HANDLE = "demo"


def _post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _demo_login(settings: Settings) -> tuple[str, str, Path]:
    """Log in as the demo artist, creating the account on the first run; return the handle,
    an access token and the file that keeps the account's password."""
    import secrets

    base = settings.base_url
    saved = settings.data_dir / "demo-account.json"
    if saved.exists():
        account = json.loads(saved.read_text())
        status, tokens = _post_json(f"{base}/api/v1/auth/login",
                                    {"login": account["handle"], "password": account["password"]})
        if status == 200:
            return account["handle"], tokens["access_token"], saved
    # A random password, kept beside the data, so a demo never ships a known credential.
    handle = DEMO_HANDLE
    for _ in range(5):
        account = {"handle": handle, "password": secrets.token_urlsafe(18)}
        status, tokens = _post_json(f"{base}/api/v1/auth/register", {
            **account, "email": f"{handle}@demo.veza.invalid", "role": "artist",
            "display_name": "Veza demo"})
        if status == 201:
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(json.dumps(account))
            saved.chmod(0o600)
            return handle, tokens["access_token"], saved
        if status != 409:
            raise VezaError(f"could not create the demo artist: {tokens.get('detail')}")
        handle = f"{DEMO_HANDLE}-{secrets.token_hex(3)}"  # "demo" belongs to someone else
    raise VezaError("could not find a free handle for the demo artist")


def _demo(settings: Settings, stop: threading.Event) -> None:
    import urllib.request

    from pipeline.synth import music, write_wav

    path = settings.data_dir / "demo.wav"
    if not path.exists():
        write_wav(path, music(duration_s=30.0, sample_rate=44100, channels=2), sample_rate=44100)
    base = settings.base_url
    handle, token, saved = _demo_login(settings)
    print(f"  demo artist: {handle} (password in {saved})", flush=True)
    request = urllib.request.Request(
        f"{base}/api/v1/tracks?filename=veza-demo.wav&title=Veza+demo",
        data=path.read_bytes(), method="POST",
        headers={"Content-Type": "audio/wav", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        accepted = json.load(response)
    print(f"  demo track uploaded: {accepted['status_url']}", flush=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not stop.is_set():
        # The demo track is public: anyone may follow its status.
        with urllib.request.urlopen(accepted["status_url"], timeout=30) as response:
            track = json.load(response)
        if track["status"] in ("ready", "failed"):
            break
        time.sleep(0.5)
    if track["status"] != "ready":
        # Only the owner sees why: ask again with a fresh token (access tokens are short).
        _, token, _ = _demo_login(settings)
        status = urllib.request.Request(accepted["status_url"],
                                        headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(status, timeout=30) as response:
            track = json.load(response)
        print(f"  demo track did not become ready: {track['status']} {track.get('error')}",
              flush=True)
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
    from veza.ingest import ladder
    from veza.media import probe, process

    src = Path(args.path)
    if not src.is_file():
        raise InputError(f"no such file: {src}")
    # The same gate as an upload: refuses what is not whole, decodable audio the pipeline
    # processes (duration limit, sample rate, channel count).
    probe(src, max_duration_s=settings.max_duration_s)
    track_id = str(uuid.uuid4())
    out = Path(args.out) / track_id
    bar = _progress_bar(sys.stderr.isatty() and not args.json)
    try:
        result = process(src, out, rungs=ladder(settings), segment_s=settings.segment_seconds,
                         target_lufs=settings.target_lufs, progress=bar,
                         max_duration_s=settings.max_duration_s)
    finally:
        if bar is not None:
            sys.stderr.write("\n")
    summary: dict[str, Any] = {"id": track_id, **result.summary(),
                               "master": str(out / result.package.master)}
    if args.json:
        print(json.dumps(summary))
        return 0
    loud = summary["loudness"]
    print(f"{src.name}: {summary['duration_s']:.2f} s, {result.source.codec} "
          f"{result.source.sample_rate} Hz {result.source.channels} ch")
    print(f"  loudness {loud['integrated_lufs']} LUFS, range {loud['range_lu']} LU, "
          f"true peak {loud['true_peak_dbtp']} dBTP, gain {summary['gain_db']} dB")
    print(f"  tempo {summary['tempo_bpm']} BPM, key {summary['key']} "
          f"(confidence {summary['key_confidence']}), cues {summary['cue_in_s']}"
          f"–{summary['cue_out_s']} s")
    for r in summary["renditions"]:
        print(f"  {r['name']}: {r['segments']} segments, {r['average_bandwidth']} b/s avg, "
              f"{r['bandwidth']} b/s peak")
    print(f"  master: {summary['master']}  ({summary['timings']['total']:.2f} s)")
    return 0


def cmd_synth(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.synth import music, write_wav

    y = music(duration_s=args.duration, sample_rate=args.rate, channels=args.channels,
              bpm=args.bpm, seed=args.seed)
    write_wav(Path(args.path), y, sample_rate=args.rate)
    print(args.path)
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from benchmarks.harness import REGISTRY, run_all, run_benchmark

    out = Path(args.out)
    if args.name == "all":
        run_all(quick=args.quick, out_dir=out)
    elif args.name not in REGISTRY:
        raise InputError(f"unknown benchmark {args.name!r}; known: all, "
                         + ", ".join(sorted(REGISTRY)))
    else:
        run_benchmark(args.name, quick=args.quick, out_dir=out)
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

    jobs = sub.add_parser("jobs", help="operate on pipeline jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="COMMAND")
    retry = jobs_sub.add_parser("retry", help="queue a failed job again")
    retry.add_argument("job_id", help="the job's id (GET /api/v1/tracks/{id} shows it)")
    retry.set_defaults(func=cmd_jobs_retry)

    users = sub.add_parser("users", help="manage accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    create = users_sub.add_parser("create", help="create an account of any role (the first "
                                  "admin, say); the password comes from stdin or VEZA_PASSWORD")
    create.add_argument("handle")
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=["listener", "artist", "admin"], default="artist")
    create.add_argument("--display-name", default=None)
    create.set_defaults(func=cmd_users_create)

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
    chat = serve_sub.add_parser("chat", help="the chat gateway (WebSocket)")
    chat.add_argument("--host", help="address to bind (default VEZA_CHAT_HOST)")
    chat.add_argument("--port", type=int, help="port to bind (default VEZA_CHAT_PORT)")
    chat.set_defaults(func=cmd_serve_chat)
    relay = serve_sub.add_parser("relay", help="the outbox relay on its own")
    relay.set_defaults(func=cmd_serve_relay)
    archiver = serve_sub.add_parser("chat-archiver", help="store the chat journal in PostgreSQL")
    archiver.set_defaults(func=cmd_serve_chat_archiver)

    up_ = sub.add_parser("up", help="everything in one process on embedded defaults")
    up_.add_argument("--port", type=int, help="API port (default VEZA_API_PORT or 8000)")
    up_.add_argument("--demo", action="store_true",
                     help="upload a generated demo track and print where to play it")
    up_.set_defaults(func=cmd_up)

    warm = sub.add_parser("warm-up", help="compile the analysers once, so a first upload is "
                          "processed at once (install steps run it)")
    warm.set_defaults(func=cmd_warm_up)

    ingest = sub.add_parser("ingest", help="process one file to HLS on disk, without services")
    ingest.add_argument("path", help="audio file to process")
    ingest.add_argument("--out", required=True, help="directory to write <id>/ into")
    ingest.add_argument("--json", action="store_true", help="print one JSON object")
    ingest.set_defaults(func=cmd_ingest)

    bench = sub.add_parser("bench", help="run a benchmark; prints a table and writes JSON")
    bench.add_argument("name", help="ladder, kernels, memory, first-segment, engines, "
                       "parallel, api, chat, web, or all")
    bench.add_argument("--quick", action="store_true",
                       help="tiny inputs and one run: proves it works, measures little")
    bench.add_argument("--out", default="benchmarks/results",
                       help="directory for NAME.json (default benchmarks/results)")
    bench.set_defaults(func=cmd_bench)

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
        from veza.logs import configure

        configure(settings.log_format, verbose=False)
        return int(args.func(args, settings))
    except (InputError, ConfigError, NotFoundError) as exc:
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
