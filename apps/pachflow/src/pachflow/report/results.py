"""What a local run produced, for a person: the new commit of each pipeline, and from the
train pipeline's run.json the MLflow run, the registered model version and where to see
them in the MLflow UI. `pachflow run` ends with it; `pachflow demo` builds on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pachflow_contracts.run_manifest import RUN_JSON, ManifestError, RunManifest
from pachflow_lineage.tracking import LOCAL_UI, ui_base
from pachflow_stagekit import BadInput
from pachflow_store import CommitRef, NotFound, Store, short_id

if TYPE_CHECKING:
    from pachflow.local.runner import RunSummary

TRAIN_PIPELINE = "train"
#: A summary line must not hang on a dead tracking server.
REGISTRY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class TrainResult:
    commit: CommitRef
    manifest: RunManifest

    @property
    def run_id(self) -> str:
        return self.manifest.run_id


def train_result(store: Store, commit_id: str | None = None) -> TrainResult | None:
    """train's run.json at `commit_id` (default: the head of train@master). A run.json that
    cannot be read raises BadInput naming it."""
    head = commit_id or store.head(TRAIN_PIPELINE)
    if head is None:
        return None
    ref = CommitRef(TRAIN_PIPELINE, head)
    try:
        text = store.file_blob(ref, "/" + RUN_JSON).read_bytes()
    except NotFound:
        return None
    try:
        return TrainResult(ref, RunManifest.from_json(text, f"{ref}:/{RUN_JSON}"))
    except ManifestError as exc:
        raise BadInput(str(exc)) from exc


def run_ui_url(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """The run's page in the MLflow UI: on the tracking server itself when it is http(s),
    else where `make mlflow-ui` serves the local store (the lineage pages link the same)."""
    base = ui_base(tracking_uri) or LOCAL_UI
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"


def model_line(manifest: RunManifest, tracking_uri: str) -> str:
    """The model version run.json records and where its alias is, as the registry says
    (read now, not taken from run.json: a reused output's run.json says where the alias
    was when it was written)."""
    registered = manifest.registered_model
    if registered is None:
        return f"none registered  ({manifest.model_uri})"
    line = f"{registered.name} v{registered.version}"
    uri = f"  ({registered.uri})"
    if not registered.alias:
        return line + uri
    alias = registry_alias(registered.name, registered.version, registered.alias, tracking_uri)
    return line + alias + uri


def registry_alias(name: str, version: str, alias: str, tracking_uri: str) -> str:
    """`, alias A` when the registry has the alias on this version, else what it has."""
    from pachflow_lineage.errors import LineageError  # mlflow_read: no mlflow import
    from pachflow_lineage.tracking import Tracking

    try:
        holder = Tracking(tracking_uri, timeout_s=REGISTRY_TIMEOUT_S).get_model_version(name, alias)
    except LineageError as exc:
        if "no registered model version" in str(exc):
            return f"; the registry has no alias {alias} on {name}"
        return f"; registry not read ({str(exc).splitlines()[0][:160]})"
    if holder.version == version:
        return f", alias {alias}"
    return f"; alias {alias} is on v{holder.version} in the registry, not on this version"


def mlflow_lines(result: TrainResult, default_tracking_uri: str) -> list[str]:
    """MLflow run, model version and the UI link; a hint to start the UI for a local store."""
    m = result.manifest
    uri = m.tracking_uri or default_tracking_uri
    url = run_ui_url(uri, m.experiment_id, result.run_id)
    lines = [
        f"MLflow run      {result.run_id}  (experiment {m.experiment_name!r})",
        f"model version   {model_line(m, default_tracking_uri)}",
    ]
    if uri.startswith(("http://", "https://")):
        lines.append(f"MLflow UI       {url}")
    else:
        lines.append(f"MLflow UI       make mlflow-ui, then {url}   (store {uri})")
    return lines


def produced_lines(store: Store, summary: RunSummary, default_tracking_uri: str) -> list[str]:
    """The new commit of every pipeline that ran, then what train made (if it ran)."""
    made = [o for o in summary.outcomes if o.output_commit and o.job_id]
    if not made:
        return []
    lines = ["produced"]
    lines += [f"  {o.pipeline}@{short_id(o.output_commit or '')}" for o in made]
    trained = next((o for o in made if o.pipeline == TRAIN_PIPELINE), None)
    result = train_result(store, trained.output_commit) if trained else None
    if result is not None:
        lines += ["  " + line for line in mlflow_lines(result, default_tracking_uri)]
        if trained is not None and trained.skipped and not trained.processed:
            lines.append(
                "  (train's datum was skipped: same features as an earlier job, whose output "
                "and model version are reused; nothing was trained)"
            )
    return lines
