"""pipelines/README.md's spec table says what the committed specs say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pachflow.pipeline_spec import PipelineSpec, load_specs

PIPELINES = Path(__file__).resolve().parents[3] / "pipelines"
README = (PIPELINES / "README.md").read_text()


def _row(name: str) -> list[str]:
    for line in README.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == name and "(`" in line:
            return cells
    raise AssertionError(f"README.md has no spec-table row for {name}")


@pytest.mark.parametrize("spec", load_specs(PIPELINES), ids=lambda s: s.name)
def test_readme_table_matches_the_spec(spec: PipelineSpec) -> None:
    row = _row(spec.name)
    assert row[1] == f"`{spec.input_repos[0]}` (`{spec.glob}`)"
    assert row[4] == str(spec.parallelism)
    requests = spec.spec["resource_requests"]
    sidecar = spec.spec["sidecar_resource_requests"]
    user = f"{requests['cpu']:g} CPU, {requests['memory']}"
    assert row[5] == f"{user} / {sidecar['cpu']:g} CPU, {sidecar['memory']}"
    assert row[6] == f"{spec.datum_tries}, {spec.spec['datum_timeout']}"
    assert re.fullmatch(rf"`[^`]*/pachflow-{spec.name}:<{spec.name} version>`", row[3])
    # the argv table shows the spec's exact transform.cmd
    assert f"| {spec.name} | `{' '.join(spec.cmd)}` |" in README
