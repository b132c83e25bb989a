"""The API process never loads the audio analysers: librosa and Numba cost it memory and start-up
time and it has no use for them (their constants live in modules that import nothing heavy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# The API as `veza serve api` builds it in each worker, then a few requests that touch the
# analysis and search code (key names, Camelot codes).
PROCESS = """
import json, sys
from pathlib import Path
from api import create_app
from veza.runtime import build_services
from veza.settings import Settings

settings = Settings(database_url=sys.argv[1], data_dir=Path(sys.argv[2]), signing_key="k" * 64)
services = build_services(settings.with_signing_key(), migrate=False)
client = create_app(settings, services).test_client()
paths = ["/api/v1/search?key=8A&compatible=true", "/api/v1/search?q=night&key=A%20minor",
         "/api/v1/tracks", "/api/docs/openapi.json", "/healthz"]
answers = {p: client.get(p).status_code for p in paths}
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"librosa", "numba", "scipy", "soxr"})
print(json.dumps({"answers": answers, "heavy": heavy}))
"""


def test_the_api_process_answers_without_loading_librosa_or_numba(database_url: str,
                                                                   tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", PROCESS, database_url, str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(status < 500 for status in result["answers"].values()), result["answers"]
    assert result["answers"]["/api/docs/openapi.json"] == 200
    assert result["heavy"] == [], f"the API process loaded {result['heavy']}"
