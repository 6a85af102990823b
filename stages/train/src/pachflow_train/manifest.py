"""OUTPUT_DIR's link back to MLflow: `run.json` and the empty `<run_id>` marker file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pachflow_lineage.context import PachydermContext
from pachflow_train.tracking import RegisteredVersion

RUN_JSON = "run.json"
MODEL_DIR = "model"
MANIFEST_VERSION = 1


def run_manifest(
    *,
    run_id: str,
    run_name: str,
    experiment_id: str,
    experiment_name: str,
    tracking_uri: str,
    model_uri: str,
    registered: RegisteredVersion,
    metrics: dict[str, float],
    ctx: PachydermContext,
    reused_run: bool,
    holdout: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_id,
        "run_name": run_name,
        "experiment_id": experiment_id,
        "experiment_name": experiment_name,
        "tracking_uri": tracking_uri,
        "model_uri": model_uri,
        "registered_model": {
            "name": registered.name,
            "version": registered.version,
            "alias": registered.alias,
            "uri": registered.uri,
        },
        "spark_model_dir": MODEL_DIR,
        "metrics": dict(sorted(metrics.items())),
        # The held-out customers: assignment rule (a function of the customer alone) and
        # the set's digest; how many they were is metrics.test_rows.
        "holdout": holdout or {},
        "input_commits": [
            {"name": i.name, "repo": i.repo, "commit": i.commit, "path": i.path} for i in ctx.inputs
        ],
        "pachyderm": ctx.tags(),
        # True when an earlier attempt of this job + datum had already finished the run.
        "reused_run": reused_run,
    }


def write_link(staging: Path, manifest: dict[str, Any]) -> None:
    """`run.json` plus the seed's empty marker file named after the run id."""
    (staging / RUN_JSON).write_text(json.dumps(manifest, indent=2) + "\n")
    (staging / manifest["run_id"]).touch()
