"""The worked examples in notebooks/ run from top to bottom."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ingest_walkthrough_runs_and_finds_what_was_synthesised() -> None:
    nb = nbformat.read(ROOT / "notebooks" / "ingest_walkthrough.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    text = "\n".join(
        output.get("text", "")
        for cell in nb.cells if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the waveform and the loudness plots
    assert "#EXT-X-STREAM-INF" in text and "aac_256k" in text
    tempo_error = float(text.split("tempo error ")[1].split(" BPM")[0])
    assert tempo_error < 1.0
    cue_in = float(text.split("cue in ")[1].split(" s")[0])
    assert cue_in == pytest.approx(2.0, abs=0.05)
    table = text.split("benchmark ", 1)[1]
    assert " met" in table.splitlines()[0]
    assert len(table.splitlines()) >= 2 and ("yes" in table or "NO" in table)
