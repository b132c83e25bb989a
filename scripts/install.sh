#!/usr/bin/env bash
# Install Veza into .venv (with the given extras) and, for the tests, the Debian tools they use;
# build the web app when Node is present; compile the analysers once.
#   scripts/install.sh            the platform only (what `make demo` needs)
#   scripts/install.sh test       plus the dev extras, ffmpeg, HAProxy and Chromium
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

# The web app (web/, served by the API at /): built when Node is present and anything in web/
# changed since the last build, so a second run costs nothing.
if command -v npm >/dev/null 2>&1 && [ -f web/package.json ]; then
  built=web/dist/.veza-built
  if [ ! -f "$built" ] || [ -n "$(find web -path web/node_modules -prune -o -path web/dist -prune \
        -o -name '*.tsbuildinfo' -prune -o -type f -newer "$built" -print -quit)" ]; then
    echo "building the web app..."
    started=$SECONDS
    if [ ! -f web/node_modules/.package-lock.json ] \
        || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
      (cd web && npm ci --no-audit --no-fund --loglevel=error)
    fi
    if ! (cd web && npm run --silent build) >"$VENV/web-build.log" 2>&1; then
      cat "$VENV/web-build.log" >&2
      echo "the web app did not build (the lines above say why)" >&2
      exit 1
    fi
    touch "$built"
    echo "web app built in $((SECONDS - started)) s (web/dist)"
  fi
else
  echo "Node (npm) not found: the web app is not built; the API's / says how to build it" >&2
fi

# Compile the Numba and librosa kernels now, into the on-disk cache the worker reads (beside
# the sources, or NUMBA_CACHE_DIR), so the first upload is processed at once. Again only when
# the code changed.
warm="$VENV/.veza-warm${NUMBA_CACHE_DIR:+-$(printf %s "$NUMBA_CACHE_DIR" | cksum | cut -d' ' -f1)}"
if [ ! -f "$warm" ] || [ "$stamp" -nt "$warm" ] \
    || [ -n "$(find pipeline -name '*.py' -newer "$warm" -print -quit)" ]; then
  "$VENV/bin/veza" warm-up
  touch "$warm"
fi
