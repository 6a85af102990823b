"""`pachflow-provenance link INPUT_DIR OUTPUT_DIR`: the pipeline stage after train.

Reads train's run.json, resolves the run's whole upstream chain through the backend, then
links both ways:
- OUTPUT_DIR: lineage.json and lineage.mmd (all or nothing);
- MLflow: the same files (and lineage.png when graphviz is installed) as artifacts of the
  run under `lineage/`, and `pachyderm.upstream.<repo>.commit` tags on the run and on its
  registered model versions;
- the train output commit(s): metadata `mlflow.run_id`, `mlflow.model_version`
  (`name/version`, comma-separated when several) and `mlflow.tracking_uri` (Pachyderm
  2.10+ and the local store; on an older pachd the stage logs that it skipped this), on
  the commit this datum reads and on the run's own output commit (they differ when train
  reused an earlier output);
- the registry: run.json's alias (`candidate`) on run.json's model version, so the alias
  always names the model of the head of train's branch (the spec reprocesses every job:
  the stage runs on every new train commit, even one whose content an earlier one had).
Every write is an upsert (same artifact path, same tag keys, edit-key metadata), so a
retried datum ends in the same state.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pachflow_contracts import run_tags
from pachflow_contracts.commits import DEFAULT_PROJECT, CommitRef
from pachflow_contracts.run_manifest import RUN_JSON, ManifestError, RegisteredVersion, RunManifest
from pachflow_contracts.run_tags import upstream_tag
from pachflow_contracts.worker_context import COMMIT_SUFFIX, ENV_PROJECT
from pachflow_lineage import render
from pachflow_lineage.backends import choose_backend
from pachflow_lineage.graph import Lineage, ModelVersion
from pachflow_lineage.options import CONTEXT, one_line_errors, open_source, source_options
from pachflow_lineage.resolve import META_MODEL_VERSION, META_RUN_ID, Resolver
from pachflow_stagekit import (
    BadInput,
    atomic_output,
    check_output_dir,
    excerpt,
    find_files,
    progress,
    terminate_cleanly,
)
from pachflow_stagekit.mlflow_access import credentials_set, mask

if TYPE_CHECKING:
    from pachflow_lineage.tracking import Tracking

STAGE = "provenance"
ARTIFACT_DIR = "lineage"
META_TRACKING_URI = "mlflow.tracking_uri"
RUN_ID = re.compile(r"[0-9a-f]{32}")
# The stage may wait out a short MLflow hiccup; the datum is retried by Pachyderm anyway.
STAGE_HTTP_RETRIES = 5
STAGE_HTTP_TIMEOUT_S = 60


def read_manifest(input_dir: Path) -> tuple[Path, RunManifest]:
    """train's run.json (exactly one under INPUT_DIR) and its content."""
    found = find_files(input_dir, [RUN_JSON], "train's run manifest")
    found = [p for p in found if p.name == RUN_JSON]
    if len(found) != 1:
        where = ", ".join(str(p) for p in found) or str(input_dir)
        raise BadInput(f"expected exactly one {RUN_JSON} under {input_dir}, found: {where}")
    path = found[0]
    try:
        manifest = RunManifest.from_json(path.read_bytes(), str(path))
    except OSError as exc:
        raise BadInput(f"{path}: cannot be read ({exc})") from exc
    except ManifestError as exc:
        raise BadInput(str(exc)) from exc
    if not RUN_ID.fullmatch(manifest.run_id):  # it is printed, tagged and stored
        raise BadInput(
            f"{path}: run_id {excerpt(manifest.run_id)} is not an MLflow run id "
            "(expected 32 hex digits)"
        )
    return path, manifest


def upstream_tags(lineage: Lineage) -> dict[str, str]:
    """`pachyderm.upstream.<repo>.commit` -> id for every commit in the lineage (ids joined
    by ',' in the odd case of two commits of one repo, e.g. a self-join)."""
    by_tag: dict[str, list[str]] = {}
    for commit in lineage.commits.values():
        by_tag.setdefault(upstream_tag(commit.ref), []).append(commit.ref.id)
    return {tag: ",".join(sorted(set(ids))) for tag, ids in sorted(by_tag.items())}


def without_own_annotations(lineage: Lineage) -> Lineage:
    """The lineage as it was before any link attempt: no commit metadata or run tags this
    stage writes. A retried datum then writes byte-identical lineage files."""
    own_meta = {META_RUN_ID, META_MODEL_VERSION, META_TRACKING_URI}
    upstream_prefix = run_tags.TAG_UPSTREAM_PREFIX
    clean = copy.deepcopy(lineage)
    for commit in clean.commits.values():
        commit.metadata = {k: v for k, v in commit.metadata.items() if k not in own_meta}
    for run in clean.runs.values():
        run.tags = {k: v for k, v in run.tags.items() if not k.startswith(upstream_prefix)}
    return clean


def train_output_commits(lineage: Lineage, input_dir: Path) -> list[CommitRef]:
    """The commits that hold this run.json: the commit this datum reads, as the worker env
    names it (`<input>_COMMIT`), and the run's own tagged output commit. They differ when
    train's datum was skipped and its earlier output reused (a deleted file, a reverted
    spec): the new head of train@master must carry the link as much as the old commit."""
    found: list[CommitRef] = []
    commit_id = os.environ.get(input_dir.name + COMMIT_SUFFIX)
    if commit_id:
        project = os.environ.get(ENV_PROJECT) or DEFAULT_PROJECT
        found.append(CommitRef(input_dir.name, commit_id, project=project))
    run = next(iter(lineage.runs.values()), None)
    if run is not None:
        own = run_tags.run_context(run.tags, run.datasets).output_commit
        if own is not None and (own.repo, own.id) not in {(c.repo, c.id) for c in found}:
            found.append(own)
    return found


def _tracking_uri(chosen: str | None, manifest: RunManifest, path: Path) -> str:
    """The operator's tracking URI (--tracking-uri, $MLFLOW_TRACKING_URI); run.json's only
    when no credential is set: credentials go only where the operator sent them, never to
    a host named by data. None of them is exit 2 (never MLflow's default in the cwd)."""
    from pachflow_stagekit.mlflow_access import required_tracking_uri

    if chosen:
        return chosen
    recorded = manifest.tracking_uri or None
    if recorded and credentials_set():
        raise BadInput(
            f"{path}: names tracking_uri {mask(str(recorded))!r}, but MLFLOW_TRACKING_URI is "
            "unset while MLflow credentials are set (expected the operator to name the "
            "server: set MLFLOW_TRACKING_URI or --tracking-uri; credentials are never sent "
            "to a host read from data)"
        )
    return required_tracking_uri(recorded, f" (and {path} names none)")


@click.command("link", context_settings=CONTEXT)
@click.argument("input_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@source_options
@one_line_errors
def link_cmd(input_dir: Path, output_dir: Path, **opts: Any) -> None:
    """Link train's MLflow run and its data both ways (the pipeline stage after train).

    Reads INPUT_DIR/run.json (train's output), resolves every upstream commit down to
    raw_data, writes OUTPUT_DIR/lineage.json and OUTPUT_DIR/lineage.mmd, logs them (and a
    PNG when graphviz is installed) to the MLflow run under lineage/, tags the run and its
    model versions with pachyderm.upstream.<repo>.commit, and records mlflow.run_id and
    mlflow.model_version as metadata on the train output commit (Pachyderm 2.10+, local
    store). Backend: local store when PACHFLOW_HOME is set (the local runner), else
    Pachyderm. Safe to retry.
    """
    from pachflow_lineage.tracking import Tracking, quiet_http_retries  # mlflow: seconds

    terminate_cleanly()
    check_output_dir(output_dir)
    path, manifest = read_manifest(input_dir)
    run_id = manifest.run_id
    quiet_http_retries(STAGE_HTTP_RETRIES, STAGE_HTTP_TIMEOUT_S)
    tracking = Tracking(_tracking_uri(opts["tracking_uri"], manifest, path))
    tracking.check()
    head_version = _recorded_version(manifest.registered_model, tracking, run_id)
    kind = choose_backend(opts["backend"], opts["home"])
    progress(STAGE, f"run {run_id} from {path}; MLflow {tracking.tracking_uri}; backend {kind}")
    backend = open_source(kind, opts)
    try:
        lineage = Resolver(backend=backend, tracking=tracking).upstream_of_run(run_id)
        snapshot = without_own_annotations(lineage)
        progress(
            STAGE,
            f"resolved {len(lineage.commits)} commits, {len(lineage.jobs)} jobs, "
            f"{len(lineage.model_versions)} model versions",
        )
        _write_outputs(snapshot, output_dir)
        _annotate_mlflow(snapshot, tracking, run_id)
        _annotate_commit(lineage, backend, tracking, input_dir)
        _point_alias(head_version, tracking)
        if kind == "pachyderm":  # locally the runner sends each job's events itself
            _send_openlineage(snapshot)
    finally:
        backend.close()
    progress(STAGE, "done")


def _write_outputs(lineage: Lineage, output_dir: Path) -> None:
    with atomic_output(output_dir) as staging:
        (staging / "lineage.json").write_text(render.to_json(lineage))
        (staging / "lineage.mmd").write_text(render.to_mermaid(lineage))
    progress(STAGE, f"wrote {output_dir}/lineage.json, lineage.mmd")


def _annotate_mlflow(lineage: Lineage, tracking: Tracking, run_id: str) -> None:
    with tempfile.TemporaryDirectory(prefix="pachflow-lineage-") as tmp:
        files = [Path(tmp, "lineage.json"), Path(tmp, "lineage.mmd")]
        files[0].write_text(render.to_json(lineage))
        files[1].write_text(render.to_mermaid(lineage))
        if render.graphviz_available():
            files.append(render.write_png(lineage, Path(tmp, "lineage.png")))
        else:
            progress(STAGE, "graphviz is not installed (no `dot`): no lineage.png logged")
        for f in files:
            tracking.log_artifact(run_id, str(f), ARTIFACT_DIR)
    tags = upstream_tags(lineage)
    tracking.set_run_tags(run_id, tags)
    for mv in lineage.model_versions.values():
        tracking.set_model_version_tags(mv.name, mv.version, tags)
    progress(
        STAGE,
        f"logged {len(files)} artifacts under {ARTIFACT_DIR}/ and {len(tags)} "
        f"upstream tags on the run and {len(lineage.model_versions)} model versions",
    )


def _send_openlineage(lineage: Lineage) -> None:
    """On a cluster, Pachyderm runs the jobs: this stage reports the chain it resolved as
    OpenLineage events (when configured; see pachflow_lineage.openlineage_events)."""
    from pachflow_lineage.openlineage_events import chain_events, maybe_events

    events = maybe_events(os.environ.get("PACHFLOW_OPENLINEAGE_CLUSTER") or "cluster")
    if events is None:
        return
    sent = chain_events(lineage, events)
    for event in sent:
        events.client.emit(event)
    progress(STAGE, f"OpenLineage: sent {len(sent)} events for {len(lineage.jobs)} jobs")


def _annotate_commit(lineage: Lineage, backend: Any, tracking: Tracking, input_dir: Path) -> None:
    targets = train_output_commits(lineage, input_dir)
    if not targets:
        progress(
            STAGE,
            "no train output commit known (run made outside a pipeline): commit metadata skipped",
        )
        return
    run = next(iter(lineage.runs.values()))
    items = {META_RUN_ID: run.run_id, META_TRACKING_URI: tracking.tracking_uri}
    versions = [f"{m.name}/{m.version}" for m in lineage.model_versions.values()]
    if versions:
        items[META_MODEL_VERSION] = ",".join(versions)
    for target in targets:
        skipped = backend.set_commit_metadata(target, items)
        if skipped is None:
            progress(
                STAGE,
                f"metadata on {target.label}: "
                + ", ".join(f"{k}={v}" for k, v in sorted(items.items())),
            )
        else:
            progress(STAGE, f"commit metadata on {target.label} skipped: {skipped}")


def _recorded_version(
    registered: RegisteredVersion | None, tracking: Tracking, run_id: str
) -> tuple[ModelVersion, str] | None:
    """run.json's model version and alias, checked before anything is written: only a
    version of this very run is accepted (exit 2 otherwise, nothing moved)."""
    if registered is None:
        return None
    name, version, alias = registered.name, registered.version, registered.alias
    mv = tracking.get_model_version(name, version)  # unknown: exit 2 naming it
    if mv.run_id != run_id:
        raise BadInput(
            f"run.json names model version {name}/{version}, but that version was made by run "
            f"{mv.run_id or '(none)'}, not run {run_id}: alias {alias!r} left where it is"
        )
    return mv, alias


def _point_alias(recorded: tuple[ModelVersion, str] | None, tracking: Tracking) -> None:
    """The registry follows the data: this datum reads the head of train's branch, so its
    run.json's model version is the one the alias names, whether train made it just now or
    its output was reused (the alias then moves back to the version of the reused output)."""
    if recorded is None:
        progress(STAGE, "run.json records no registered model version: no alias moved")
        return
    mv, alias = recorded
    if alias in mv.aliases:
        progress(STAGE, f"alias {alias} of {mv.name} already on version {mv.version}")
        return
    tracking.set_model_alias(mv.name, alias, mv.version)
    progress(STAGE, f"alias {alias} of {mv.name} moved to version {mv.version} (the head's model)")
