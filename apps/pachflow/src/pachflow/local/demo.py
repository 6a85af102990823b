"""`pachflow demo`: PaySim-like data -> raw_data -> the whole DAG, then what came out: the
MLflow run, the registered model version, its metrics and the lineage back to raw_data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pachflow_store import USER, CommitRef, NotFound, Store

RAW_REPO = "raw_data"
TRAIN_PIPELINE = "train"
PROVENANCE_PIPELINE = "provenance"
RUN_JSON = "/run.json"
LINEAGE_JSON = "/lineage.json"


def demo_file(store: Store, rows: int, seed: int) -> Path:
    return store.home / "demo" / f"paysim-{rows}rows-seed{seed}.csv.gz"


def generate(path: Path, rows: int, seed: int) -> bool:
    """Write the data once (deterministic for rows+seed); False when it already exists."""
    if path.exists():
        return False
    from pachflow_paysim.generator import write_paysim  # numpy/pandas: only when needed

    path.parent.mkdir(parents=True, exist_ok=True)
    write_paysim(path, rows, seed)
    return True


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def put_if_new(store: Store, local: Path) -> tuple[CommitRef, bool]:
    """Put the file as raw_data's only demo file, unless raw_data@master already holds
    exactly these bytes (then nothing new is committed and nothing will run)."""
    target = "/" + local.name
    head = store.head(RAW_REPO)
    if head is not None:
        ref = CommitRef(RAW_REPO, head)
        entry = store.manifest(ref).get(target)
        if entry is not None and entry[0] == sha256_of(local):
            return ref, False
    return store.put_files(RAW_REPO, [(target, local)], description="pachflow demo"), True


@dataclass(frozen=True)
class TrainResult:
    commit: CommitRef
    manifest: dict[str, Any]


def train_result(store: Store) -> TrainResult | None:
    head = store.head(TRAIN_PIPELINE)
    if head is None:
        return None
    ref = CommitRef(TRAIN_PIPELINE, head)
    try:
        return TrainResult(ref, json.loads(store.file_blob(ref, RUN_JSON).read_text()))
    except NotFound:
        return None


def lineage(store: Store, start: CommitRef) -> Iterator[tuple[int, CommitRef, str]]:
    """(depth, commit, spec commit) from `start` back through its data provenance."""
    seen: set[CommitRef] = set()

    def walk(ref: CommitRef, depth: int) -> Iterator[tuple[int, CommitRef, str]]:
        if ref in seen:
            return
        seen.add(ref)
        provenance = store.inspect_commit(ref).provenance
        spec = next((str(p) for p in provenance if p.repo_type != USER), "")
        yield depth, ref, spec
        for parent in provenance:
            if parent.repo_type == USER:
                yield from walk(parent, depth + 1)

    yield from walk(start, 0)


def provenance_table(store: Store, result: TrainResult) -> str | None:
    """The provenance pipeline's lineage of this train commit, as its readable table, when
    that pipeline ran on it (same commit set); None otherwise."""
    head = store.head(PROVENANCE_PIPELINE)
    if head is None or head != result.commit.id:
        return None
    try:
        blob = store.file_blob(CommitRef(PROVENANCE_PIPELINE, head), LINEAGE_JSON)
    except NotFound:
        return None
    from pachflow_lineage.model import Lineage  # MLflow imports: only when needed
    from pachflow_lineage.render import to_table

    return to_table(Lineage.from_dict(json.loads(blob.read_text())))


HEADLINE = ("areaUnderPR", "areaUnderROC", "f1_at_best", "precision_at_best", "recall_at_best")


def headline_metrics(metrics: dict[str, float]) -> str:
    """The evaluation metrics worth a glance (test set when there is one), not all of them."""
    chosen = [f"test_{k}" if f"test_{k}" in metrics else k for k in HEADLINE]
    shown = {k: metrics[k] for k in chosen if k in metrics} or dict(list(metrics.items())[:6])
    return ", ".join(f"{k}={v:.4f}" for k, v in shown.items())


def report_lines(
    store: Store, result: TrainResult, tracking_uri: str, spark: str | None = None
) -> list[str]:
    """What the demo prints; `spark`: which Spark this run's Spark jobs used."""
    m = result.manifest
    registered = m.get("registered_model") or {}
    lines = [
        f"MLflow run      {m.get('run_id')}  (experiment {m.get('experiment_name')!r},"
        f" run name {m.get('run_name')!r})",
        f"tracking URI    {m.get('tracking_uri') or tracking_uri}",
        "open it         make mlflow-ui   (then http://127.0.0.1:5000, or set"
        " MLFLOW_TRACKING_URI to use your own server)",
        f"model version   {registered.get('name')} v{registered.get('version')}"
        + (f" (alias {registered['alias']})" if registered.get("alias") else "")
        + f"  {registered.get('uri') or m.get('model_uri', '')}",
        "metrics         " + headline_metrics(m.get("metrics") or {}),
        f"all metrics     pachflow get {result.commit}:{RUN_JSON}",
        f"model files     pachflow ls {result.commit}:/{m.get('spark_model_dir', 'model')}",
    ]
    if spark:
        lines.append(f"Spark           {spark}")
    table = provenance_table(store, result)
    if table is not None:
        lines.append(
            f"lineage (the provenance pipeline's; again: pachflow lineage run {m.get('run_id')}):"
        )
        return lines + ["  " + line if line else "" for line in table.splitlines()]
    lines.append("lineage (model -> raw data, via each commit's direct provenance):")
    for depth, ref, spec in lineage(store, result.commit):
        lines.append(f"  {'  ' * depth}{ref}" + (f"   [spec {spec}]" if spec else ""))
    return lines
