"""Two pytest-xdist workers (`make test`: `-n 2 --dist loadgroup`): the tests on a shared
costly session fixture run on one worker, which builds it once; a module's tests stay
together (its module-scoped fixture is built once)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFTEST = """
import os
from pathlib import Path

import pytest

BUILT = Path(__file__).parent / "built.txt"


def _note(what):
    with BUILT.open("a") as fh:
        fh.write(f"{what} {os.environ['PYTEST_XDIST_WORKER']}\\n")


@pytest.fixture(scope="session")
def spark_reference():  # the name of a shared costly fixture (worker_groups)
    _note("reference")


@pytest.fixture(scope="module")
def per_module(request):
    _note(request.module.__name__)
"""

MODULE = """
import time

import pytest


def test_reads_the_reference(spark_reference):
    time.sleep(0.2)


@pytest.mark.parametrize("n", range(3))
def test_module_fixture(per_module, n):
    time.sleep(0.2)
"""


def test_a_shared_fixture_and_a_module_fixture_are_each_built_once(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for n in range(4):
        (tmp_path / f"test_m{n}.py").write_text(MODULE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow: slow\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "16 passed" in done.stdout
    built = (tmp_path / "built.txt").read_text().splitlines()
    assert len([b for b in built if b.startswith("reference ")]) == 1, built
    modules = [b.split()[0] for b in built if not b.startswith("reference ")]
    assert sorted(modules) == sorted(set(modules)) and len(modules) == 4, built
