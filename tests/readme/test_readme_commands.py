"""The README's "Two commands" and "Changing one stage" blocks, run as written in a clean
clone of HEAD, in a shell where neither uv nor .venv/bin is on PATH (a fresh machine's).

What it does: `git clone` of this repository's HEAD into a temporary directory; the
clone's `.venv` is a symlink to this checkout's (a second `uv sync` would take minutes).
The clone's lock and pyproject files get an old mtime, so make finds the venv up to date
and runs no `uv sync` there (which would point the shared venv's editable installs at
the clone); `make -n setup` must say so before anything runs, and afterwards the venv must
still point at this checkout. Every command line of the two blocks then runs in
one bash session (`set -e`), with `ROWS=20000` for the demo; the lines that run test
suites (`make test`, `make test-stage`) are left out: they are what runs this test.
The code that runs is the venv's (this checkout, editable installs); the clone checks the
commands, targets, paths and prerequisites the README promises.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("Two commands", "Changing one stage")
#: Lines that run test suites: this test is one of them.
SKIPPED = re.compile(r"^make (test|test-stage)\b")
DEMO_ROWS = "20000"

pytestmark = pytest.mark.spark


def readme_commands(text: str) -> list[str]:
    """Every command (comments cut, `a; b` split) of the sh blocks in SECTIONS, in order."""
    commands = []
    for title in SECTIONS:
        section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
        for block in re.findall(r"```sh\n(.*?)```", section, re.S):
            for line in block.splitlines():
                line = re.sub(r"\s+#.*$", "", line).strip()
                commands += [c.strip() for c in line.split(";") if c.strip()]
    return commands


def test_the_blocks_hold_the_commands_a_new_user_types() -> None:
    commands = readme_commands((REPO_ROOT / "README.md").read_text())
    assert commands[:2] == ["make demo", "make test"]
    assert any(c.startswith("export PATH=") for c in commands)
    assert not [c for c in commands if c.startswith("uv ")]  # uv is not on a new PATH


def test_the_example_data_is_not_a_copy_of_the_demos() -> None:
    """`make put` of the example file after `make demo` must add new rows, not the demo's
    second file again under another name (put refuses that, and it would count twice)."""
    from pachflow.commands.local_demo import demo
    from pachflow.report.demo import increment_rows

    defaults = {p.name: p.default for p in demo.params}
    demo_files = {
        (defaults["rows"], defaults["seed"]),
        (increment_rows(defaults["rows"]), defaults["seed"] + 1),
    }
    commands = readme_commands((REPO_ROOT / "README.md").read_text())
    generated = [c for c in commands if " gen-paysim " in c]
    assert generated
    for command in generated:
        rows = int(re.search(r"--rows (\d+)", command)[1])
        seed = int(re.search(r"--seed (\d+)", command)[1])
        assert (rows, seed) not in demo_files, command


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    if shutil.which("git") is None or not (REPO_ROOT / ".venv").is_dir():
        pytest.skip("needs git and this checkout's .venv (make setup)")
    dest = tmp_path / "pachflow"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(dest)], check=True)
    (dest / ".venv").symlink_to(REPO_ROOT / ".venv")
    for path in [
        dest / "uv.lock",
        *dest.glob("*/pyproject.toml"),
        *dest.glob("*/*/pyproject.toml"),
    ]:
        os.utime(path, (0, 0))  # older than the venv's stamp: make does not sync
    return dest


def venv_source() -> str:
    """Where the venv's editable install of pachflow points."""
    pth = next((REPO_ROOT / ".venv" / "lib").glob("python*/site-packages/pachflow.pth"))
    return pth.read_text().strip()


@pytest.mark.slow
def test_readme_commands_work_in_a_clean_clone(clone: Path) -> None:
    commands = readme_commands((clone / "README.md").read_text())
    script = "\n".join(
        ["set -euo pipefail"] + [f": skipped {c!r}" if SKIPPED.match(c) else c for c in commands]
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PACHFLOW_", "MLFLOW_", "UV_", "VIRTUAL_ENV", "MAKE"))
    }
    home_bin = str(Path.home() / ".local" / "bin")
    env["PATH"] = ":".join(
        p for p in env["PATH"].split(":") if p != home_bin and not p.endswith(".venv/bin")
    )
    env["ROWS"] = DEMO_ROWS
    dry = subprocess.run(
        ["make", "-n", "setup"], cwd=clone, env=env, capture_output=True, text=True
    )
    if "uv sync" in dry.stdout or "pachflow_spark.cds" in dry.stdout:
        pytest.fail(f"make would rebuild the shared venv from the clone:\n{dry.stdout}")
    before = venv_source()
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    out = done.stdout + done.stderr
    assert venv_source() == before, "the README commands re-synced the shared venv"
    assert done.returncode == 0, out[-4000:]
    # make demo: the result block
    assert "MLflow run      " in out and "model version   pachflow-fraud-detector v1" in out
    assert "How to read them" in out and "lineage         train@" in out
    # the demo's last step and the README's score command: held-out data scored, by which model
    assert re.search(r"^scored paysim-1000rows-seed\d+\.csv\.gz \(1,000 held-out", out, re.M)
    assert "  by model pachflow-fraud-detector/2 (pachflow-fraud-detector@candidate)" in out
    assert re.search(r"^scored new\.csv\.gz: 5,000 transactions, .* flagged", out, re.M)
    assert (clone / "scores.csv").is_file() and (clone / "scores.csv.scoring.json").is_file()
    # make put + make run: new data, and what the run produced
    # (the demo itself made v1 and, with its second small file, v2)
    assert "produced" in out and "model version   pachflow-fraud-detector v3" in out
    # make jobs, pachflow logs etl
    assert re.search(r"^etl +\w{32} +JOB_SUCCESS", out, re.M)
    assert "=== datum " in out
    assert not (clone / ".pachflow").is_symlink() and (clone / ".pachflow" / "mlflow.db").is_file()
