"""OUTPUT_DIR's link back to MLflow: `run.json` (pachflow_contracts' RunManifest) and the
empty `<run_id>` marker file."""

from __future__ import annotations

from pathlib import Path

from pachflow_contracts.run_manifest import (
    RUN_JSON,
    RegisteredVersion,
    RunInput,
    RunManifest,
)
from pachflow_contracts.worker_context import PachydermContext


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
) -> RunManifest:
    return RunManifest(
        run_id=run_id,
        run_name=run_name,
        experiment_id=experiment_id,
        experiment_name=experiment_name,
        tracking_uri=tracking_uri,
        model_uri=model_uri,
        registered_model=registered,
        metrics=metrics,
        holdout=holdout or {},
        input_commits=tuple(RunInput(i.name, i.repo, i.commit, i.path) for i in ctx.inputs),
        pachyderm=ctx.tags(),
        reused_run=reused_run,
    )


def write_link(staging: Path, manifest: RunManifest) -> None:
    """`run.json` plus the seed's empty marker file named after the run id."""
    (staging / RUN_JSON).write_text(manifest.to_json())
    (staging / manifest.run_id).touch()
