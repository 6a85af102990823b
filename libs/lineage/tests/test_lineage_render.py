"""The lineage model and its renderers on a small hand-made graph."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pachflow_contracts.commits import CommitRef
from pachflow_lineage import render
from pachflow_lineage.graph import (
    Commit,
    FileEntry,
    Job,
    Lineage,
    ModelVersion,
    Run,
)

RAW, OUT = "a" * 32, "b" * 32


def graph() -> Lineage:
    lin = Lineage(subject=f"run:{'c' * 32}", direction="upstream")
    raw = Commit(
        CommitRef("raw_data", RAW),
        origin="USER",
        size=3 * 1024 * 1024,
        files=[FileEntry(f"f{i}.csv", 10) for i in range(7)],
    )
    out = Commit(CommitRef("train", OUT), origin="AUTO", size=10)
    job = Job("train", OUT, state="JOB_SUCCESS")
    run = Run("c" * 32, name='train@"quoted"')
    mv = ModelVersion("fraud", "3", run_id=run.run_id)
    for node in (mv, run, out, job, raw):  # added out of order on purpose
        lin.add(node)
    lin.connect(raw.key, job.key, "input")
    lin.connect(job.key, out.key, "output")
    lin.connect(job.key, run.key, "tracked")
    lin.connect(run.key, mv.key, "registered")
    lin.connect(run.key, mv.key, "registered")  # duplicates are ignored
    return lin


def test_json_lists_commits_as_objects_with_repo_and_id() -> None:
    payload = json.loads(render.to_json(graph()))
    assert {(c["repo"], c["id"]) for c in payload["commits"]} == {("raw_data", RAW), ("train", OUT)}
    assert len(payload["edges"]) == 4


def test_json_reads_back_into_the_same_lineage() -> None:
    lin = graph()
    again = Lineage.from_dict(json.loads(render.to_json(lin)))
    assert again.to_dict() == lin.to_dict()
    assert render.to_table(again) == render.to_table(lin)


def test_order_is_upstream_first_whatever_the_insertion_order() -> None:
    order = render.ordered_keys(graph())
    assert order.index(f"commit:raw_data@{RAW}") < order.index(f"job:train@{OUT}")
    assert order.index(f"job:train@{OUT}") < order.index("model:fraud/3")


def test_table_shows_sizes_and_caps_the_file_list() -> None:
    table = render.to_table(graph())
    assert re.search(rf"^raw_data +{RAW[:12]} +USER +3\.0 MiB", table, re.M)
    assert "f4.csv" in table and "f5.csv" not in table and "... 2 more files" in table


def test_table_leaves_out_hidden_files() -> None:
    lin = graph()
    lin.commits[f"commit:train@{OUT}"].files[:] = [
        FileEntry("model/part-0.parquet", 9),
        FileEntry("model/.part-0.parquet.crc", 1),
    ]
    table = render.to_table(lin)
    assert "model/part-0.parquet  9 B" in table and ".crc" not in table
    assert "... 1 more files" in table


def test_dot_is_top_down_with_one_short_line_per_node() -> None:
    dot = render.to_dot(graph())
    assert "rankdir=TB" in dot
    labels = re.findall(r'label="((?:[^"\\]|\\.)*)", shape', dot)
    assert sorted(labels) == sorted(
        [
            f"raw_data@{RAW[:12]}",
            f"train@{OUT[:12]}",
            f"job train@{OUT[:12]}",
            f"run {'c' * 12}",
            "model fraud v3",
        ]
    )


def test_mermaid_and_dot_have_every_node_and_edge_quoted() -> None:
    lin = graph()
    quoted = ModelVersion('fraud "quoted"', "1", run_id="c" * 32)
    lin.add(quoted)
    lin.connect(f"run:{'c' * 32}", quoted.key, "registered")
    mermaid = render.to_mermaid(lin)
    assert mermaid.count("-->|") == 5 and "#quot;quoted#quot;" in mermaid
    dot = render.to_dot(lin)
    assert dot.count(" -> ") == 5 and '\\"quoted\\"' in dot and "shape=cylinder" in dot


@pytest.mark.skipif(not render.graphviz_available(), reason="graphviz `dot` not installed")
def test_png_is_rendered_with_graphviz(tmp_path: Path) -> None:
    png = render.write_png(graph(), tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_without_graphviz_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(render.GraphvizMissing, match="apt-get install graphviz"):
        render.write_png(graph(), tmp_path / "g.png")
