"""Lineage end to end: the real DAG (split -> etl -> train -> provenance) on two successive
data versions, then both directions through `pachflow lineage` / `pachflow-provenance`.

Local (always): `pachflow put` + `pachflow run` over the committed specs, MLflow = the real
server fixture. Cluster (when PACHD_ADDRESS is set): the same puts and assertions against
a Pachyderm cluster where `make deploy` created the pipelines, with MLFLOW_TRACKING_URI
naming the MLflow those pipelines track to.

The point: the second raw commit maps to the second run (and model version), never to the
first, in both directions, and the provenance stage linked each run to its own data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS = REPO_ROOT / "pipelines"
BIN = Path(sys.executable).parent
ROWS = 20_000  # ~25 fraud rows per file: enough for train's stratified split
RUN_TIMEOUT_S = 1800

pytestmark = pytest.mark.spark


def _tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


@dataclass
class Version:
    raw: str  # raw_data commit id
    run_id: str  # from train's run.json in the output commit (ground truth)
    train_commit: str


@dataclass
class Chain:
    """One backend's way to put data, run the DAG and ask lineage questions."""

    put_and_run: Callable[[Path], Version]
    lineage: Callable[..., dict[str, Any]]
    commit_metadata: Callable[[str], dict[str, str]]
    home: Path | None = None  # the local store (every commit's files and every job's logs)


def _check(cmd: list[str], env: dict[str, str], timeout: float = 600) -> str:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stderr[-4000:]}"
    return proc.stdout


def _paysim(tmp: Path, n: int) -> Path:
    out = tmp / f"paysim-{n}.csv"
    _check(
        [_tool("pachflow"), "gen-paysim", "--rows", str(ROWS), "--seed", str(n), "--out", str(out)],
        dict(os.environ),
    )
    return out


def _local_chain(tmp: Path, tracking_uri: str) -> Chain:
    home = tmp / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACH_", "PPS_", "PACHD_"))}
    env |= {
        "PACHFLOW_HOME": str(home),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PACHFLOW_SPECS_DIR": str(SPECS),
    }

    def put_and_run(raw_file: Path) -> Version:
        out = _check([_tool("pachflow"), "put", "raw_data", str(raw_file)], env)
        raw = out.strip().rsplit("@", 1)[1]
        logs = subprocess.run(
            [_tool("pachflow"), "run", "--specs", str(SPECS), "-q"],
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
        if logs.returncode != 0:
            failing = subprocess.run(
                [_tool("pachflow"), "jobs"], env=env, capture_output=True, text=True
            ).stdout
            pytest.fail(f"pachflow run failed:\n{logs.stdout}\n{logs.stderr}\n{failing}")
        import pachflow_store as ps

        with ps.Store(home) as store:
            train = ps.CommitRef("train", store.head("train") or "")
            manifest = json.loads(store.file_blob(train, "/run.json").read_text())
        return Version(raw=raw, run_id=manifest["run_id"], train_commit=train.id)

    def lineage(*args: str) -> dict[str, Any]:
        out = _check([_tool("pachflow"), "lineage", *args, "--json", "--backend", "local"], env)
        return json.loads(out)

    def commit_metadata(train_commit: str) -> dict[str, str]:
        import pachflow_store as ps

        with ps.Store(home) as store:
            return store.get_metadata(ps.CommitRef("train", train_commit))

    return Chain(put_and_run, lineage, commit_metadata, home)


def _cluster_chain(tmp: Path) -> Chain:
    from pachyderm_sdk.api import pfs

    from pachflow_lineage.client import pachyderm_client

    client = pachyderm_client()
    env = dict(os.environ)
    env.pop("PACHFLOW_HOME", None)

    def put_and_run(raw_file: Path) -> Version:
        branch = pfs.Branch.from_uri("raw_data@master")
        with client.pfs.commit(branch=branch) as commit, raw_file.open("rb") as data:
            commit.put_file_from_file(path=f"/{raw_file.name}", file=data)
        raw = commit.id
        client.pfs.wait_commit_set(pfs.CommitSet(id=raw))
        train = client.pfs.inspect_commit(commit=pfs.Commit.from_uri("train@master"))
        with client.pfs.pfs_file(pfs.File.from_uri(f"train@{train.commit.id}:/run.json")) as f:
            run_json = f.read()
        return Version(raw=raw, run_id=json.loads(run_json)["run_id"], train_commit=train.commit.id)

    def lineage(*args: str) -> dict[str, Any]:
        out = _check([_tool("pachflow"), "lineage", *args, "--json", "--backend", "pachyderm"], env)
        return json.loads(out)

    def commit_metadata(train_commit: str) -> dict[str, str]:
        repo = pfs.Repo(name="train", type="user", project=pfs.Project(name="default"))
        info = client.pfs.inspect_commit(commit=pfs.Commit(repo=repo, id=train_commit))
        return dict(info.metadata)

    return Chain(put_and_run, lineage, commit_metadata)


@pytest.fixture(params=["local", "cluster"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Chain:
    if request.param == "cluster":
        if not os.environ.get("PACHD_ADDRESS"):
            pytest.skip(
                "no Pachyderm cluster: set PACHD_ADDRESS (and MLFLOW_TRACKING_URI of "
                "the MLflow the deployed pipelines use) to run this against one"
            )
        return _cluster_chain(tmp_path)
    tracking_uri = request.getfixturevalue("mlflow_tracking_uri")
    return _local_chain(tmp_path, tracking_uri)


def _commits(payload: dict[str, Any], repo: str) -> set[str]:
    return {c["id"] for c in payload["commits"] if c["repo"] == repo and c["type"] == "user"}


def test_two_data_versions_resolve_to_their_own_runs_both_ways(
    chain: Chain, tmp_path: Path
) -> None:
    v1 = chain.put_and_run(_paysim(tmp_path, 1))
    v2 = chain.put_and_run(_paysim(tmp_path, 2))
    assert v1.run_id != v2.run_id and v1.raw != v2.raw

    for mine, other in ((v1, v2), (v2, v1)):
        # commit -> downstream: this raw commit's run, never the other one
        down = chain.lineage("commit", f"raw_data@{mine.raw}")
        assert [r["run_id"] for r in down["runs"]] == [mine.run_id]
        assert mine.train_commit in _commits(down, "train")
        assert other.run_id not in json.dumps(down)
        assert len(down["model_versions"]) == 1
        # run -> upstream: down to this raw commit, not the other one
        up = chain.lineage("run", mine.run_id)
        assert _commits(up, "raw_data") == {mine.raw}
        assert {"split", "etl", "train"} <= {c["repo"] for c in up["commits"]}
        assert {"split", "etl", "train"} <= {
            c["repo"] for c in up["commits"] if c["type"] == "spec"
        }
        raw = next(c for c in up["commits"] if c["repo"] == "raw_data")
        assert raw["files"] and all(f["size"] > 0 for f in raw["files"])
        # the provenance stage linked this run and its train commit to this data
        tags = {k: v for r in up["runs"] for k, v in r["tags"].items()}
        assert tags["pachyderm.upstream.raw_data.commit"] == mine.raw
        meta = chain.commit_metadata(mine.train_commit)
        assert meta["mlflow.run_id"] == mine.run_id
        assert meta["mlflow.model_version"] == ",".join(
            f"{m['name']}/{m['version']}" for m in up["model_versions"]
        )
        _assert_no_credential([down, up, meta], chain.home)


def _assert_no_credential(outputs: list[Any], home: Path | None) -> None:
    """The MLflow password the stages ran with (the mlflow-credentials secret) is in no
    `--json` output (runs with their params and tags), no commit metadata, and locally in
    no file of the store: lineage.json/.mmd, run.json, every job's logs."""
    secret = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if not secret:
        return
    assert secret not in json.dumps(outputs)
    for path in home.rglob("*") if home else ():
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
