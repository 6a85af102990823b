"""docs/local-runner.md names every CreatePipelineRequest field (Pachyderm's JSON schema)
with what the local runner does with it, so a field cannot be silently left out."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "CreatePipelineRequest.schema.json").read_text()
)
DEFS = SCHEMA["definitions"]
# nested messages whose fields the table lists one by one
NESTED = {
    "transform": "pps_v2.Transform",
    "input.pfs": "pps_v2.PFSInput",
    "input.cron": "pps_v2.CronInput",
    "input": "pps_v2.Input",
    "egress": "pps_v2.Egress",
    "datumSetSpec": "pps_v2.DatumSetSpec",
    "parallelismSpec": "pps_v2.ParallelismSpec",
    "pipeline": "pps_v2.Pipeline",
}


def table_rows() -> list[tuple[str, str]]:
    text = (ROOT / "docs" / "local-runner.md").read_text()
    section = text.split("## CreatePipelineRequest fields locally", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            rows.append((cells[0], cells[1]))
    return rows


def names_in(cell: str) -> set[str]:
    """`a.b` tokens, and `prefix (x, y)` as prefix.x, prefix.y."""
    names = set(re.findall(r"`([A-Za-z0-9.]+)`", cell))
    for prefix, inner in re.findall(r"`([A-Za-z0-9.]+)`\s*\(([^)]*)\)", cell):
        names.update(f"{prefix}.{n}" for n in re.findall(r"`([A-Za-z0-9]+)`", inner))
    return names


def test_every_field_has_a_row_saying_what_the_local_runner_does():
    rows = table_rows()
    named = set().union(*(names_in(cell) for cell, _ in rows))
    wanted = set(DEFS["CreatePipelineRequest"]["properties"])
    for prefix, message in NESTED.items():
        wanted.update(f"{prefix}.{field}" for field in DEFS[message]["properties"])
    missing = sorted(
        f for f in wanted if f not in named and not any(n.startswith(f + ".") for n in named)
    )
    assert missing == []
    for cell, what in rows:
        assert re.match(r"(honoured|ignored|rejected)\b", what), cell
