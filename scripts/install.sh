#!/usr/bin/env bash
# Install Veza into .venv (with the given extras) and, for the tests, the Debian tools they use.
#   scripts/install.sh            the platform only (what `make demo` needs)
#   scripts/install.sh test       plus the dev extras, ffmpeg and HAProxy
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

# Tests need ffmpeg (ffprobe checks the output), HAProxy (the front door's end-to-end test) and
# Chromium (pages checked in a real browser).
if [ "${1:-}" = "test" ]; then
  missing=""
  command -v ffprobe >/dev/null 2>&1 || missing="$missing ffmpeg"
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing="$missing haproxy"
  command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
  if [ -n "$missing" ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq $missing >/dev/null
  fi
fi
