"""`--help` (and so every start-up) must not import the heavy libraries: pandas/numpy/pyarrow
(gen-paysim), pyspark, mlflow (lineage) or pachyderm_sdk/grpc (cluster, local runner). They
cost seconds; each command imports what it needs when it runs. Checked in a fresh
interpreter, since this test process has imported all of them already."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = {"pandas", "numpy", "pyarrow", "pyspark", "mlflow", "pachyderm_sdk", "grpc"}

# Runs a CLI's main() with argv, then prints the top-level modules it imported on stderr.
PROBE = """
import json, sys
from {module} import main
try:
    main(sys.argv[1:], prog_name="{prog}")
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})), file=sys.stderr)
"""


def imported_by(module: str, prog: str, args: list[str]) -> tuple[str, set[str]]:
    """(stdout, top-level modules imported) of `prog args` run in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, prog=prog), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout, set(json.loads(result.stderr.strip().splitlines()[-1]))


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
    assert modules & HEAVY == set()


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["link", "--help"]], ids=" ".join)
def test_pachflow_provenance_help_imports_nothing_heavy(args: list[str]) -> None:
    out, modules = imported_by("pachflow_provenance.cli", "pachflow-provenance", args)
    assert out.startswith("Usage: pachflow-provenance")
    assert modules & HEAVY == set()
