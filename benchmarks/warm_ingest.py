"""Ingest one file the way a long-lived worker does: warmed up first, then timed.

    python -m benchmarks.warm_ingest SRC OUT_DIR

Prints one JSON object: the wall and CPU seconds (all threads of this process) of the timed
ingest alone, the warm-up it paid before, and `veza ingest`'s summary.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    from pipeline.process import process, warm_up

    src, out = Path(argv[0]), Path(argv[1])
    warm_s = warm_up()
    wall0, cpu0 = time.perf_counter(), _cpu()
    result = process(src, out)
    wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "warm_up_s": warm_s,
                      "summary": result.summary()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
