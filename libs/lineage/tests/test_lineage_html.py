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
    # the headline metrics come first, before the graph, linked to the run's MLflow page
    headline = dom.index('class="headline"')
    assert headline < dom.index('class="graph"')
    for label in ("areaUnderPR", "F1 at best threshold", "precision", "recall"):
        assert dom.index(label, headline) < dom.index('class="graph"'), label
    assert "0.9912" in dom[headline : dom.index('class="graph"')]
    assert 'href="http://127.0.0.1:5000/#/runs/r"' in dom[headline:]
    # the graph fits the window: scaled by its viewBox, zoomable, never cut off
    assert re.search(r'<svg [^>]*viewBox="0 0 \d+ \d+"', dom)
    assert not re.search(r'<svg [^>]*\swidth="\d+"', dom)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (Debian: apt-get install chromium)")
def test_a_wide_graph_fits_the_window_and_zooms(tmp_path: Path) -> None:
    """A screenshot at a laptop's width: the whole graph is inside it (its right-most box
    drawn), and the zoom buttons widen it inside its scroll box."""
    ln = lineage()
    page = write_html(ln, tmp_path / "lineage.html")
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=900,700",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    width, _ = _png_size(shot)
    assert width == 900
    svg = re.search(r'viewBox="0 0 (\d+) (\d+)"', to_html(ln))
    assert svg is not None and int(svg[1]) > 900  # wider than the window: scaled down to fit


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_a_local_store_links_the_mlflow_ui_the_demo_prints() -> None:
    from pachflow_lineage.tracking import LOCAL_UI, Tracking

    local = Tracking("sqlite:////tmp/nowhere/mlflow.db")
    assert local.run_url("1", "abc") == f"{LOCAL_UI}/#/experiments/1/runs/abc"
    assert (
        Tracking("http://mlflow:5000/").model_url("m", "2")
        == "http://mlflow:5000/#/models/m/versions/2"
    )
