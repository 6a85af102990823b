"""`pachflow <command> --help` (and so every start-up) must not import the heavy libraries:
pandas/numpy/pyarrow (gen-paysim), pyspark, mlflow (lineage) or pachyderm_sdk/grpc (cluster,
local runner). They cost seconds; each command imports what it needs when it runs. Every
console script's own `--help`: tests/architecture/test_cli_startup_imports.py."""

from __future__ import annotations

import pytest

from pachflow_testing.startup import DATA, HEAVY, imported_by


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["gen-paysim", "--help"],
        ["run", "--help"],
        ["demo", "--help"],
        ["deploy", "--help"],
        ["lineage", "--help"],
        ["lineage", "run", "--help"],
        ["score", "--help"],
    ],
    ids=" ".join,
)
def test_pachflow_help_imports_nothing_heavy(args: list[str]) -> None:
    out, modules = imported_by("pachflow.cli", "pachflow", args)
    assert out.startswith("Usage: pachflow")
    assert modules & (HEAVY | DATA) == set()
