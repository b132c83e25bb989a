"""The README stays a front door whose links and code map point at files that exist, and the
documentation site's strict build refuses what would leave a reader at a dead end."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import veza.settings

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = Path(sys.executable).with_name("mkdocs")


def test_the_readme_opens_with_the_two_commands_and_stays_short() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[:5] == [
        "# Veza", "", "```sh",
        "make demo    # run Veza on embedded defaults, open the web app it prints, play a "
        "generated demo track",
        "make test    # install, make sure PostgreSQL/RabbitMQ/Redis run, run the whole test suite",
    ]
    assert len(lines) <= 150


def test_every_relative_link_of_the_readme_names_a_file_that_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    relative = [link for link in links if "://" not in link]
    assert relative, "the README links to the docs"
    assert [link for link in relative if not (ROOT / link).exists()] == []


def test_every_path_in_the_readmes_code_map_exists() -> None:
    # Paths with a folder in them (`api/errors.py`, `storage/migrations/versions/`); placeholders
    # such as `api/<resource>.py` and globs are left out.
    readme = (ROOT / "README.md").read_text()
    paths = {p for p in re.findall(r"`([A-Za-z][\w./-]*/[\w./-]*)`", readme)
             if "*" not in p and "://" not in p}
    assert len(paths) > 20
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []


def test_every_setting_is_documented() -> None:
    names = set(re.findall(r"VEZA_[A-Z][A-Z0-9_]*", inspect.getsource(veza.settings)))
    page = (ROOT / "docs" / "settings.md").read_text()
    documented = set(re.findall(r"VEZA_[A-Z][A-Z0-9_]*", page))
    assert len(names) > 30
    assert sorted(names - documented) == []


@pytest.mark.skipif(not MKDOCS.exists(), reason="mkdocs is in the dev extras")
def test_the_strict_build_refuses_a_dead_link_a_missing_anchor_and_a_page_not_in_the_nav(
        tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "docs", tree / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tree / "mkdocs.yml")
    (tree / "chat").mkdir()
    shutil.copy(ROOT / "chat" / "PROTOCOL.md", tree / "chat" / "PROTOCOL.md")
    build = [str(MKDOCS), "build", "--strict", "--site-dir", str(tmp_path / "site")]

    done = subprocess.run(build, cwd=tree, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    with (tree / "docs" / "tests.md").open("a") as page:
        page.write("\nSee [the old page](benchmarks-old.md) and [a section](design.md#gone).\n")
    (tree / "docs" / "notes.md").write_text("# Notes\n")
    done = subprocess.run(build, cwd=tree, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "'benchmarks-old.md', but the target is not found" in done.stderr
    assert "does not contain an anchor '#gone'" in done.stderr
    assert "not included in the \"nav\" configuration:\n  - notes.md" in done.stderr
