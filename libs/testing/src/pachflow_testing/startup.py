"""What a command imports when it starts: its main() run with argv in a fresh interpreter
(a test process has imported everything already), reporting the top-level modules loaded.
Start-up must stay well under a second (issue 26): the heavy libraries are imported by
the code that needs them, when it runs."""

from __future__ import annotations

import json
import subprocess
import sys

#: Seconds of imports each: the stage CLIs import none of these to start.
HEAVY = frozenset({"pandas", "pyspark", "mlflow", "pachyderm_sdk", "grpc"})
#: ...and commands that read no data (pachflow, pachflow-provenance) not these either.
DATA = frozenset({"numpy", "pyarrow"})

# Runs a CLI's main() with argv, then prints the top-level modules it imported on stderr.
PROBE = """
import json, sys
from {module} import {function}
try:
    {function}(sys.argv[1:], prog_name="{prog}")
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})), file=sys.stderr)
"""


def imported_by(
    module: str,
    prog: str,
    args: list[str],
    function: str = "main",
    env: dict[str, str] | None = None,
) -> tuple[str, set[str]]:
    """(stdout, top-level modules imported) of `prog args` run to success in a fresh
    interpreter (AssertionError with its output otherwise)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, function=function, prog=prog), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, set(json.loads(result.stderr.strip().splitlines()[-1]))
