"""A reproduction on a Pachyderm cluster (pachyderm_sdk): a project of its own,
`reproduce-<short id>`, with the root repos holding copies of the original root commits'
files (server-side copy_file, no download) and the pipelines created from the exact spec
versions the original chain ran (their user_spec_json, moved into that project). The
user's repos, branches and pipelines are not touched. Runs where PACHD_ADDRESS names a
cluster; tests/integration skips it here."""

from __future__ import annotations

import json
import time
from typing import Any

from pachflow.pipeline_spec.dag import pipeline_order
from pachflow.pipeline_spec.errors import SpecError
from pachflow.pipeline_spec.input_tree import pfs_inputs
from pachflow.reproduce.plan import Plan, ReproduceError
from pachflow_contracts.commits import DEFAULT_BRANCH
from pachflow_contracts.run_manifest import RUN_JSON, ManifestError, RunManifest
from pachflow_store import new_id


def run_cluster(
    plan: Plan, client: Any, tracking_uri: str, experiment: str
) -> tuple[str, str, float]:
    """-> (new run id, project, seconds). `client`: a pachyderm_sdk Client. The run's
    pipeline (train) tracks to `experiment` and registers the reproductions' model."""
    from pachyderm_sdk.api import pfs

    # Ordered first: a spec set that cannot run must leave nothing behind on the cluster.
    specs = _dag_order(plan.specs, {r.ref.repo for r in plan.roots})
    project = f"reproduce-{new_id()[:12]}"
    started = time.monotonic()
    client.pfs.create_project(project=pfs.Project(name=project), description=plan.run_id)
    for root in plan.roots:
        repo = pfs.Repo(name=root.ref.repo, type="user", project=pfs.Project(name=project))
        client.pfs.create_repo(repo=repo, description=f"copy of {root.ref.label}")
        src = pfs.Commit(
            repo=pfs.Repo(
                name=root.ref.repo, type="user", project=pfs.Project(name=root.ref.project)
            ),
            id=root.ref.id,
        )
        with client.pfs.commit(branch=pfs.Branch(repo=repo, name=DEFAULT_BRANCH)) as commit:
            commit.copy_file(src=pfs.File(commit=src, path="/"), dst="/")
        last = commit
    for spec in specs:
        spec = json.loads(json.dumps(spec))
        spec.setdefault("pipeline", {})["project"] = {"name": project}
        env = spec.setdefault("transform", {}).setdefault("env", {})
        env["MLFLOW_TRACKING_URI"] = env.get("MLFLOW_TRACKING_URI") or tracking_uri
        if spec["pipeline"].get("name") == plan.pipeline:
            env.update(plan.tracking_env(experiment))
        for inp in pfs_inputs(spec.get("input")):
            inp["project"] = project
        client.pps.create_pipeline_v2(create_pipeline_request_json=json.dumps(spec))
    client.pfs.wait_commit_set(pfs.CommitSet(id=last.id))
    out = pfs.Commit.from_uri(f"{project}/{plan.pipeline}@master")
    info = client.pfs.inspect_commit(commit=out, wait=pfs.CommitState.FINISHED)
    if info.error:
        raise ReproduceError(f"reproduction failed in project {project}: {info.error}")
    with client.pfs.pfs_file(pfs.File(commit=info.commit, path="/" + RUN_JSON)) as fh:
        text = fh.read()
    try:
        run_id = RunManifest.from_json(text, f"{project}/{plan.pipeline}:/{RUN_JSON}").run_id
    except ManifestError as exc:
        raise ReproduceError(f"reproduction in project {project}: {exc}") from exc
    return run_id, project, time.monotonic() - started


def _dag_order(specs: dict[str, dict[str, Any]], roots: set[str]) -> list[dict[str, Any]]:
    """Specs so that each pipeline comes after the ones whose output repos it reads (ties
    by name); ReproduceError naming the pipelines that read a repo nothing makes."""
    reads = {
        name: {pfs["repo"] for pfs in pfs_inputs(spec.get("input"))}
        for name, spec in sorted(specs.items())
    }
    try:
        order = pipeline_order(reads)
    except SpecError as err:
        raise ReproduceError(str(err)) from None
    made, stuck = set(roots), []
    for name in order:  # upstream first, so a pipeline after one that is stuck is stuck too
        if reads[name] <= made:
            made.add(name)
        else:
            stuck.append(name)
    if stuck:
        raise ReproduceError(f"pipelines {', '.join(sorted(stuck))} read repos nothing makes")
    return [specs[name] for name in order]
