#!/usr/bin/env bash
# Install Veza into .venv (with the given extras) and, for the tests, the Debian tools they use.
#   scripts/install.sh            the platform only (what `make demo` needs)
#   scripts/install.sh test       plus the dev extras and ffmpeg (ffprobe checks the output)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
extras="celery"
[ "${1:-}" = "test" ] && extras="celery,dev"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.veza-installed-$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[$extras]"
  touch "$stamp"
fi

if [ "${1:-}" = "test" ] && ! command -v ffprobe >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq ffmpeg >/dev/null
  fi
fi
