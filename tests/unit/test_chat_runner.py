"""A gateway process raises its open-files limit to what the system allows it."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest


def test_the_gateway_raises_its_open_files_limit_to_the_hard_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 256:
        pytest.fail(f"this machine's hard limit ({hard}) leaves nothing to raise")
    script = ("import resource; "
              f"resource.setrlimit(resource.RLIMIT_NOFILE, (256, {hard})); "
              "from chat.runner import raise_open_files_limit; "
              "print(raise_open_files_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert [int(v) for v in out] == [hard, hard]
