"""Driving `pachflow` (the local runner) for benchmarks: a fresh store, puts, measured
runs with each stage's own peak RSS, and the jobs each run made."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import REPO, Measurement, measure, tool

SPECS = REPO / "pipelines"


def stage_of(argv: list[str]) -> str | None:
    """`pachflow-etl ...` -> "etl"; the runner (`pachflow run`) -> "runner"."""
    for arg in argv[:3]:
        base = os.path.basename(arg)
        if base.startswith("pachflow-"):
            return base.removeprefix("pachflow-")
        if base == "pachflow":
            return "runner"
    return None


def write_specs(target: Path, names: Iterable[str], edit: dict[str, Any] | None = None) -> Path:
    """Copy the committed specs `names` into `target`, applying `edit`:
    {pipeline: callable(spec dict) -> None} (e.g. more shards, batching off)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in names:
        spec = json.loads((SPECS / f"{name}.json").read_text())
        if edit and name in edit:
            edit[name](spec)
        (target / f"{name}.json").write_text(json.dumps(spec, indent=2) + "\n")
    return target


@dataclass
class Chain:
    """One local store (PACHFLOW_HOME) and the specs it runs."""

    home: Path
    specs: Path = SPECS
    logs: Path | None = None

    def fresh(self) -> Chain:
        if self.home.exists():
            shutil.rmtree(self.home)
        self.home.mkdir(parents=True)
        return self

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        env["PACHFLOW_HOME"] = str(self.home)  # MLflow: sqlite under it (runner default)
        return env

    def _log(self, name: str) -> Path | None:
        if self.logs is None:
            return None
        self.logs.mkdir(parents=True, exist_ok=True)
        return self.logs / f"{name}.log"

    def put(self, repo: str, files: list[Path], label: str = "put") -> Measurement:
        cmd = [tool("pachflow"), "put", repo, *map(str, files)]
        return measure(cmd, env=self.env(), log=self._log(label))

    def delete(self, uri: str, label: str = "delete") -> Measurement:
        """`pachflow delete file REPO@BRANCH:/PATH`."""
        cmd = [tool("pachflow"), "delete", "file", uri]
        return measure(cmd, env=self.env(), log=self._log(label))

    def run(self, label: str = "run") -> Measurement:
        cmd = [tool("pachflow"), "run", "--specs", str(self.specs), "--quiet"]
        return measure(cmd, env=self.env(), log=self._log(label), group_of=stage_of)

    def pachflow_json(self, *args: str) -> Any:
        out = subprocess.run(
            [tool("pachflow"), *args, "--json"],
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)

    def latest_jobs(self) -> dict[str, dict[str, Any]]:
        """{pipeline: its newest job} (duration_s added)."""
        latest: dict[str, dict[str, Any]] = {}
        for job in self.pachflow_json("jobs"):
            if job["pipeline"] not in latest or job["created"] > latest[job["pipeline"]]["created"]:
                latest[job["pipeline"]] = job
        for job in latest.values():
            job["duration_s"] = (job["finished"] or job["created"]) - job["created"]
        return latest

    def read(self, uri: str, out: Path) -> Path:
        subprocess.run(
            [tool("pachflow"), "get", uri, "-o", str(out)],
            env=self.env(),
            check=True,
            capture_output=True,
        )
        return out
