"""Measure processes, compare against targets, write `benchmarks/results/NAME.json`, print tables.

A benchmark module has `run(*, quick: bool = False) -> dict` returning
``{"parameters": {...}, "results": {...}, "targets": [Target | dict, ...]}`` ("parameters" may be
left out). `run_benchmark` adds the time and the machine, writes the JSON and prints it as a table.
Timings are compared as ratios against a baseline measured in the same invocation, because the
machines are shared and noisy; a benchmark is never a test.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import operator
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any, TypeVar

from veza.errors import InputError, VezaError

RESULTS_DIR = Path(__file__).resolve().parent / "results"

T = TypeVar("T")


# ---------------------------------------------------------------- the machine


def bench_artist(services: Any) -> tuple[Any, dict[str, Any]]:
    """The artist account that benchmark uploads belong to (made on first use): its id, and the
    tokens of a new session of it, as a login answers them (no password: made by the platform's
    account code); act as it through ``benchmarks.session.Session``, which refreshes them.
    For a benchmark's private database only: an account named ``bench`` becomes an artist."""
    from storage.accounts import Account, Accounts
    from storage.repositories import unit_of_work
    from veza.accounts import AccountService

    with unit_of_work(services.db) as uow:
        uow.cur.execute(
            "INSERT INTO users (handle, email, role) VALUES ('bench', 'bench@bench.invalid', "
            "'artist') ON CONFLICT (handle) DO UPDATE SET role = 'artist' "
            "RETURNING id, handle, display_name, email, role, password_hash, created_at")
        account = Account(**uow.cur.fetchone())
        tokens = AccountService(services).open_session(Accounts(uow.cur), account,
                                                       user_agent="veza bench", ip=None)
    return account.id, tokens.as_json()


def machine_info() -> dict[str, Any]:
    """Describe the machine and the versions of what is measured, for the result file."""
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_quota": _cgroup_cpu_quota(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    for dist in ("numpy", "av", "numba", "librosa", "pyloudnorm"):
        try:
            info[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info[dist] = None
    info["ffmpeg"] = _ffmpeg_version()
    return info


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_cpu_quota() -> float | None:
    """CPUs granted by a cgroup v2 quota, or None when there is none."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
    except (OSError, ValueError):
        return None
    return None if quota == "max" else round(int(quota) / int(period), 2)


def _ffmpeg_version() -> str | None:
    exe = shutil.which("ffmpeg")
    if exe is None:
        return None
    out = subprocess.run([exe, "-version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else None


# ---------------------------------------------------------------- measuring processes


@dataclass(frozen=True)
class Run:
    """One measured process: wall and CPU seconds, peak RSS, exit status and output."""

    wall_s: float
    cpu_s: float  # user + system of the process and of every child it waited for
    max_rss_bytes: int  # peak RSS of the process or of its largest waited-for descendant
    returncode: int
    stdout: str
    stderr: str
    cmd: tuple[str, ...] = ()

    def check(self) -> Run:
        """Return self, or raise VezaError if the process failed."""
        if self.returncode != 0:
            tail = "\n".join(self.stderr.strip().splitlines()[-15:])
            raise VezaError(f"benchmark command failed with exit code {self.returncode}: "
                            f"{' '.join(self.cmd)}\n{tail}", code="benchmark_failed")
        return self


def measure(cmd: Sequence[str], *, env: Mapping[str, str] | None = None,
            cwd: str | os.PathLike[str] | None = None) -> Run:
    """Run one command to completion and measure it with wait4."""
    runs, _ = measure_concurrent([cmd], env=env, cwd=cwd)
    return runs[0]


# Each command runs under this tiny reaper, a fresh process that spawns it and reaps it with
# wait4. Measuring from here directly would be wrong: on Linux a child's ru_maxrss starts at the
# peak RSS of the process it was forked from (ours, which may hold hundreds of MB of audio), so
# the reaper's few MB are the floor instead. Its own start-up is outside the measured wall time
# (CLOCK_MONOTONIC is one clock for every process).
_REAPER = """\
import os, sys, time
report, cmd = sys.argv[1], sys.argv[2:]
start = time.monotonic()
try:
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
except OSError as exc:
    sys.stderr.write(f"{cmd[0]}: {exc.strerror}\\n")
    cpu, rss, code = 0.0, 0, 127
else:
    _, status, ru = os.wait4(pid, 0)
    cpu, rss, code = ru.ru_utime + ru.ru_stime, ru.ru_maxrss, os.waitstatus_to_exitcode(status)
with open(report, "w") as f:
    f.write(f"{start!r} {time.monotonic()!r} {cpu!r} {rss} {code}")
"""
_RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes there, KiB here


def measure_concurrent(cmds: Sequence[Sequence[str]], *, env: Mapping[str, str] | None = None,
                       cwd: str | os.PathLike[str] | None = None) -> tuple[list[Run], float]:
    """Start every command at once; return each one's Run and the wall time until the last ended.

    Each process is reaped by its own wait4, so its CPU time (user + system, its waited-for
    children included) and peak RSS are its own even while the others run.
    """
    if not cmds:
        raise ValueError("measure_concurrent needs at least one command")
    with tempfile.TemporaryDirectory(prefix="veza-bench-") as tmp:
        procs: list[tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes], Path]] = []
        try:
            for i, cmd in enumerate(cmds):
                # Output goes to files, not pipes: nobody has to drain them while we wait.
                out: IO[bytes] = tempfile.TemporaryFile()
                err: IO[bytes] = tempfile.TemporaryFile()
                report = Path(tmp) / f"{i}.rusage"
                proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _REAPER, str(report), *cmd],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd,
                    env=None if env is None else dict(env), process_group=0)
                procs.append((proc, out, err, report))
            for proc, *_ in procs:
                proc.wait()
        finally:
            for proc, *_ in procs:
                if proc.poll() is None:  # interrupted: leave no orphans behind
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

        runs, spans = [], []
        for cmd, (proc, out, err, report) in zip(cmds, procs, strict=True):
            stdout, stderr = _read(out), _read(err)
            try:
                start, end, cpu, rss, code = report.read_text().split()
            except (OSError, ValueError):
                raise VezaError(f"the reaper of {cmd[0]} failed (exit {proc.returncode}): "
                                f"{stderr.strip()[-500:]}") from None
            spans.append((float(start), float(end)))
            runs.append(Run(wall_s=float(end) - float(start), cpu_s=float(cpu),
                            max_rss_bytes=int(rss) * _RSS_UNIT, returncode=int(code),
                            stdout=stdout, stderr=stderr, cmd=tuple(cmd)))
    return runs, max(end for _, end in spans) - min(start for start, _ in spans)


def combine(runs: Sequence[Run], wall_s: float) -> Run:
    """One Run for processes that ran together: CPU summed, RSS summed (an upper bound)."""
    failed = [r.returncode for r in runs if r.returncode != 0]
    return Run(wall_s=wall_s, cpu_s=sum(r.cpu_s for r in runs),
               max_rss_bytes=sum(r.max_rss_bytes for r in runs),
               returncode=failed[0] if failed else 0,
               stdout="".join(r.stdout for r in runs), stderr="".join(r.stderr for r in runs),
               cmd=tuple(arg for r in runs for arg in (*r.cmd, "&")))


def bench_env() -> dict[str, str]:
    """The environment for measured processes: ours, with a writable Numba cache.

    Without a writable cache every process would compile librosa's kernels again (~30 s). The
    cache is kept per version of the pipeline's code: Numba checks a cached kernel against its
    own source only, not against the kernels it calls, and a kernel cached against an older
    callee can crash the process that loads it.
    """
    env = dict(os.environ)
    if "NUMBA_CACHE_DIR" not in env:
        folder = Path(tempfile.gettempdir()) / "veza-bench" / f"numba-{_pipeline_version()}"
        folder.mkdir(parents=True, exist_ok=True)
        env["NUMBA_CACHE_DIR"] = str(folder)
    return env


def _pipeline_version() -> str:
    """A digest of the pipeline's source files (what the cached kernels were compiled from)."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).resolve().parent.parent / "pipeline").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _read(f: IO[bytes]) -> str:
    with f:
        f.seek(0)
        return f.read().decode("utf-8", errors="replace")


def repeat(fn: Callable[[], T], n: int) -> list[T]:
    """Call fn n times and return its results in order."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return [fn() for _ in range(n)]


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence of numbers."""
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


# ---------------------------------------------------------------- targets and results

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq,
}
_TARGET = re.compile(r"^\s*(<=|>=|==|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Target:
    """A measured value and the bound it should meet, e.g. ``Target("x", 0.8, "<= 1.0")``."""

    metric: str
    value: float | None
    target: str
    unit: str = "ratio"

    def __post_init__(self) -> None:
        if _TARGET.match(self.target) is None:
            raise ValueError(f"target must look like '<= 1.0' (<=, >=, <, >, ==), "
                             f"got {self.target!r}")

    @property
    def met(self) -> bool:
        """Whether the value satisfies the bound; a missing or NaN value never does."""
        if self.value is None or not math.isfinite(self.value):
            return False
        op, bound = _TARGET.match(self.target).groups()  # type: ignore[union-attr]
        return _OPS[op](float(self.value), float(bound))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def _as_target(t: Target | Mapping[str, Any]) -> Target:
    if isinstance(t, Target):
        return t
    value = t.get("value")
    return Target(str(t["metric"]), None if value is None else float(value), str(t["target"]),
                  str(t.get("unit", "ratio")))


def write_result(name: str, parameters: Mapping[str, Any], results: Mapping[str, Any],
                 targets: Sequence[Target | Mapping[str, Any]], *,
                 out_dir: str | os.PathLike[str] = RESULTS_DIR) -> Path:
    """Write ``out_dir/NAME.json`` with the time, the machine, parameters, results and targets."""
    doc = {
        "name": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "parameters": dict(parameters),
        "results": dict(results),
        "targets": [_as_target(t).to_dict() for t in targets],
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_jsonable(doc), indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


def _jsonable(x: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays unpacked, paths as text, NaN and inf as null."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "tolist"):  # numpy scalar or array, without importing numpy
        return _jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, os.PathLike):
        return os.fspath(x)
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return str(x)


def print_table(result: Mapping[str, Any], *, file: IO[str] | None = None) -> None:
    """Print a result document (as written by write_result) as a readable table."""
    out = sys.stdout if file is None else file
    m = result.get("machine", {})
    print(f"== {result.get('name')}  {result.get('when', '')}", file=out)
    print(f"   {m.get('cpus')} CPUs ({m.get('cpu_model')}), {m.get('memory_gib')} GiB, "
          f"load {m.get('load_avg_1m')}, Python {m.get('python')}, {m.get('ffmpeg')}", file=out)
    for section in ("parameters", "results"):
        rows = list(_flatten(result.get(section, {})))
        if rows:
            print(f"-- {section}", file=out)
            width = max(len(k) for k, _ in rows)
            for key, value in rows:
                print(f"   {key:<{width}}  {_fmt(value)}", file=out)
    targets = result.get("targets", [])
    if targets:
        print("-- targets", file=out)
        table = [("metric", "value", "target", "unit", "met")] + [
            (t["metric"], _fmt(t["value"]), t["target"], t["unit"], "yes" if t["met"] else "NO")
            for t in targets
        ]
        widths = [max(len(row[i]) for row in table) for i in range(5)]
        for row in table:
            print("   " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(),
                  file=out)


def _flatten(d: Mapping[str, Any], prefix: str = "") -> Any:
    for key, value in d.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 10_000 else f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (list, tuple)):
        text = ", ".join(_fmt(x) for x in v)
        return f"[{text}]" if len(text) <= 80 else f"[{text[:77]}...]"
    text = str(v)
    return text if len(text) <= 100 else text[:97] + "..."


# ---------------------------------------------------------------- the registry


def _lazy(module: str) -> Callable[..., dict[str, Any]]:
    """A run function that imports its module only when called."""

    def run(*, quick: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = importlib.import_module(module).run(quick=quick)
        return result

    run.__doc__ = f"Run {module}.run(quick=quick)."
    run.__qualname__ = run.__name__ = f"run_{module.rsplit('.', 1)[-1]}"
    return run


REGISTRY: dict[str, Callable[..., dict[str, Any]]] = {
    "ladder": _lazy("benchmarks.ladder"),
    "kernels": _lazy("benchmarks.kernels"),
    "memory": _lazy("benchmarks.memory"),
    "first-segment": _lazy("benchmarks.first_segment"),
    "api": _lazy("benchmarks.api"),
    "engines": _lazy("benchmarks.engines"),
    "parallel": _lazy("benchmarks.parallel"),
    "chat": _lazy("benchmarks.chat"),
    "web": _lazy("benchmarks.web"),
}


def run_benchmark(name: str, *, quick: bool = False,
                  out_dir: str | os.PathLike[str] = RESULTS_DIR, echo: bool = True) -> Path:
    """Run one registered benchmark, write its JSON file and print its table.

    Raises:
        InputError: if no benchmark has that name.
    """
    if name not in REGISTRY:
        raise InputError(f"unknown benchmark {name!r}; known benchmarks: "
                         f"{', '.join(REGISTRY)} (or 'all')", code="unknown_benchmark")
    out = REGISTRY[name](quick=quick)
    parameters = {"quick": quick, **out.get("parameters", {})}
    path = write_result(name, parameters, out["results"], out["targets"], out_dir=out_dir)
    if echo:
        print_table(json.loads(path.read_text()))
    return path


def run_all(*, quick: bool = False, out_dir: str | os.PathLike[str] = RESULTS_DIR,
            echo: bool = True) -> list[Path]:
    """Run every registered benchmark in turn; skip one whose module is not written yet."""
    paths = []
    for name in REGISTRY:
        try:
            paths.append(run_benchmark(name, quick=quick, out_dir=out_dir, echo=echo))
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("benchmarks."):
                raise
            print(f"== {name}: skipped, {exc.name} is not written yet", file=sys.stderr)
        if echo:
            print()
    return paths
