"""Every console script starts without the heavy libraries (issue 26, item 4): `--help`
imports no mlflow, pachyderm_sdk/grpc, pyspark or pandas (seconds of imports each; e.g.
mlflow ~3.7 s, as it pulls pandas and pyspark in), so neither does the start of any run:
each command imports them in the code path (backend, engine) that needs them. Commands
that read no data (pachflow, pachflow-provenance) import no numpy/pyarrow either.

The scripts are read from every package's `[project.scripts]`, so a new command is held to
the same rule. Checked in a fresh interpreter per command (this process imports them all).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pachflow_testing.startup import DATA, HEAVY, imported_by

REPO = Path(__file__).resolve().parents[2]
#: Commands that need no Arrow to do their work.
NO_DATA = {"pachflow", "pachflow-provenance"}


def console_scripts() -> dict[str, str]:
    """script name -> `module:function`, from every workspace package."""
    found: dict[str, str] = {}
    for pyproject in sorted(REPO.glob("*/*/pyproject.toml")):
        scripts = tomllib.loads(pyproject.read_text()).get("project", {}).get("scripts", {})
        found.update(scripts)
    return found


SCRIPTS = console_scripts()


def test_every_stage_and_the_app_have_a_console_script():
    for name in ("pachflow", "pachflow-split", "pachflow-etl", "pachflow-train"):
        assert name in SCRIPTS
    assert {"pachflow-provenance", "pachflow-score"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_help_imports_nothing_heavy(script: str) -> None:
    module, _, function = SCRIPTS[script].partition(":")
    out, modules = imported_by(module, script, ["--help"], function)
    assert out.startswith(f"Usage: {script}")
    assert modules & HEAVY == set(), f"{script} --help imported {sorted(modules & HEAVY)}"
    if script in NO_DATA:
        assert modules & DATA == set(), f"{script} --help imported {sorted(modules & DATA)}"


@pytest.mark.parametrize("args", [["run", "--help"], ["link", "--help"]], ids=" ".join)
def test_provenance_subcommands_import_nothing_heavy(args: list[str]) -> None:
    out, modules = imported_by("pachflow_provenance.cli", "pachflow-provenance", args)
    assert out.startswith("Usage: pachflow-provenance")
    assert modules & (HEAVY | DATA) == set()
