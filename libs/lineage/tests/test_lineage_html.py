"""`--html`: the page loads in a real headless browser (Debian's chromium) with no console
error and shows every node of the lineage, each with its card."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pachflow_lineage.html import to_html, write_html
from pachflow_testing.lineage_sample import sample_lineage as lineage

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
]


def test_page_is_self_contained_and_escapes_text() -> None:
    page = to_html(lineage())
    assert "<script>" in page and "train@x &lt;script&gt;" in page  # names are escaped
    assert not re.search(r'(src|href)="(?!http://127\.0\.0\.1)', page)  # nothing to fetch
    assert 'href="http://127.0.0.1:5000/#/models/fraud/versions/3"' in page  # MLflow UI link


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (Debian: apt-get install chromium)")
def test_page_loads_in_headless_chromium_with_every_node_and_no_error(tmp_path: Path) -> None:
    ln = lineage()
    page = write_html(ln, tmp_path / "lineage.html")
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    keys = [*ln.commits, *ln.jobs, *ln.datums, *ln.runs, *ln.model_versions]
    # the inline script ran to its end (it counts the graph's nodes) and saw no error
    assert f'data-ready="{len(keys)}"' in dom, dom[:500]
    assert "data-errors" not in dom
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    for key in keys:  # every node: a box in the graph and a card
        assert dom.count(f'data-key="{key}"') == 2, key
    assert "metric test.areaUnderPR" in dom and "0.99" in dom
