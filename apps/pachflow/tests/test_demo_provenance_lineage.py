"""With -v, the demo's report adds the provenance pipeline's lineage.json when that
pipeline ran on the reported train commit (and only then)."""

from __future__ import annotations

import json
from pathlib import Path

from pachflow.report import demo as d
from pachflow.report.results import train_result
from pachflow_store import ORIGIN_AUTO, CommitRef, Store, new_id

RUN_ID = "r" * 32


def _commit(store: Store, repo: str, commit_id: str, name: str, data: bytes) -> CommitRef:
    with store.writing_blobs():
        blob = store.blobs.put_bytes(data)
        with store.transaction() as tx:
            return store.insert_commit(
                tx, CommitRef(repo, commit_id), {name: blob}, [], ORIGIN_AUTO
            )


def _lineage_json(raw: str) -> bytes:
    return json.dumps(
        {
            "subject": f"run:{RUN_ID}",
            "direction": "upstream",
            "commits": [
                {
                    "repo": "raw_data",
                    "id": raw,
                    "type": "user",
                    "origin": "USER",
                    "size": 10,
                    "created": None,
                    "files": [{"path": "a.csv", "size": 10}],
                    "metadata": {},
                    "error": "",
                }
            ],
            "runs": [{"run_id": RUN_ID, "name": "train@x"}],
            "edges": [{"src": f"commit:raw_data@{raw}", "dst": f"run:{RUN_ID}", "kind": "dataset"}],
        }
    ).encode()


def test_report_uses_the_provenance_pipelines_lineage(tmp_path: Path) -> None:
    raw = new_id()
    with Store(tmp_path / "home") as store:
        job = new_id()
        train = _commit(store, "train", job, "/run.json", json.dumps({"run_id": RUN_ID}).encode())
        result = train_result(store)
        assert result is not None and result.commit == train
        # no provenance commit yet: only the store walk
        before = "\n".join(d.report_lines(store, result, "u", verbose=True))
        assert "lineage         train@" in before and "provenance pipeline" not in before
        _commit(store, "provenance", job, "/lineage.json", _lineage_json(raw))
        quiet = "\n".join(d.report_lines(store, result, "u"))
        text = "\n".join(d.report_lines(store, result, "u", verbose=True))
    assert f"pachflow lineage run {RUN_ID}" in quiet and "a.csv" not in quiet
    assert "lineage (the provenance pipeline's):" in text
    assert f"raw_data  {raw[:12]}  USER" in text and "a.csv" in text


def test_report_ignores_a_provenance_commit_of_another_run(tmp_path: Path) -> None:
    with Store(tmp_path / "home") as store:
        _commit(store, "provenance", new_id(), "/lineage.json", _lineage_json(new_id()))
        _commit(store, "train", new_id(), "/run.json", json.dumps({"run_id": RUN_ID}).encode())
        result = train_result(store)
        assert result is not None
        text = "\n".join(d.report_lines(store, result, "u", verbose=True))
    assert "provenance pipeline" not in text and "lineage         train@" in text
