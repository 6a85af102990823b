"""The reproduce command's steps: subject -> plan -> a new run (here or on a cluster) ->
tag it -> compare -> verdict."""

from __future__ import annotations

import shutil
from pathlib import Path

import pachflow_store as ps
from pachflow.local.progress import Progress
from pachflow.reproduce.compare import compare_runs
from pachflow.reproduce.plan import (
    REPRODUCTIONS_SUFFIX,
    Plan,
    ReproduceError,
    build_plan,
    check_local_stages,
)
from pachflow_lineage.audit import Verdict
from pachflow_lineage.backends import open_backend
from pachflow_lineage.backends.base import Backend
from pachflow_lineage.backends.local import LocalBackend
from pachflow_lineage.commands import CLI_HTTP_RETRIES, CLI_HTTP_TIMEOUT_S, default_tracking_uri
from pachflow_lineage.resolve import Resolver
from pachflow_lineage.subject import Subject, parse_subject, resolve_run
from pachflow_lineage.tracking import Tracking, quiet_http_retries

REPRODUCES_TAG = "pachflow.reproduces"
#: A reproduction's runs go to `<original experiment><suffix>`, not the user's experiment.


def reproduce_subject(
    subject: str,
    runtime: str,
    tolerance: float,
    into: Path | None,
    home: str | None,
    tracking_uri: str | None,
    keep: bool = False,
) -> Verdict:
    parsed = parse_subject(subject)
    quiet_http_retries(CLI_HTTP_RETRIES, CLI_HTTP_TIMEOUT_S)
    progress = Progress()
    if runtime == "cluster":
        return _on_cluster(parsed, tolerance, tracking_uri, progress)
    tracking = Tracking(tracking_uri or default_tracking_uri("local", home))
    tracking.check()
    source = LocalBackend.open(home)
    try:
        plan = _plan(source, tracking, parsed)
        if runtime == "local":
            check_local_stages(plan)
        target = into or source.store.home / "reproductions" / f"{plan.run_id}-{ps.new_id()[:8]}"
        if target.exists():
            raise ReproduceError(f"--into {target}: exists (a reproduction needs a new store)")
        from pachflow.local.runtime import get_runtime
        from pachflow.reproduce.local import run_local

        experiment = reproduction_experiment(tracking, plan.run_id, source.store.home)
        progress.say(
            f"reproduce: run {plan.run_id} into a new store {target} ({runtime}), "
            f"MLflow experiment {experiment!r}"
        )
        made = run_local(
            plan,
            source.store,
            target,
            tracking.tracking_uri,
            get_runtime(runtime),
            progress,
            experiment,
        )
    finally:
        source.close()
    new_backend = LocalBackend(ps.Store(made.home))
    try:
        verdict = _finish(plan, tracking, new_backend, made.run_id, made.seconds, tolerance)
    finally:
        new_backend.close()
    if keep:
        verdict.info["where"] += " (kept: --keep)"
    else:  # the runs and models are in MLflow; the store's data is the original's
        shutil.rmtree(made.home)
        verdict.info["where"] += " (removed; --keep keeps it)"
    return verdict


def reproduction_experiment(tracking: Tracking, run_id: str, home: Path | None) -> str:
    """`<the original run's experiment>-reproductions`, made on first use: reproductions do
    not crowd the user's experiment. With a local store its artifacts live under the
    store's own mlruns (not in the reproduction's store, which is removed afterwards)."""
    from mlflow.exceptions import MlflowException

    client = tracking.client
    original = client.get_experiment(client.get_run(run_id).info.experiment_id).name
    name = original + REPRODUCTIONS_SUFFIX
    if client.get_experiment_by_name(name) is None:
        remote = tracking.tracking_uri.startswith(("http://", "https://"))
        location = None  # a server (or a cluster's run): the server's artifact root
        if home is not None and not remote:
            location = str(home / "mlruns" / "reproductions")
        try:
            client.create_experiment(name, artifact_location=location)
        except MlflowException:  # made meanwhile by another reproduction
            if client.get_experiment_by_name(name) is None:
                raise
    return name


def _plan(backend: Backend, tracking: Tracking, subject: Subject) -> Plan:
    run_id, mv = resolve_run(tracking, subject)
    return build_plan(Resolver(backend, tracking), run_id, mv)


def _finish(
    plan: Plan,
    tracking: Tracking,
    new_backend: Backend,
    new_run: str,
    seconds: float,
    tolerance: float,
) -> Verdict:
    tracking.set_run_tags(new_run, {REPRODUCES_TAG: plan.run_id})
    new_lineage = Resolver(new_backend, tracking).upstream_of_run(new_run)
    verdict = compare_runs(
        tracking, plan.run_id, new_run, tolerance, plan.lineage, new_lineage, plan.pipeline
    )
    verdict.info["original run"] = plan.run_id
    verdict.info["new run"] = f"{new_run} (tag {REPRODUCES_TAG}={plan.run_id})"
    store = getattr(new_backend, "store", None)
    verdict.info["where"] = f"local store {store.home}" if store else new_backend.name
    if plan.original_seconds:
        ratio = seconds / plan.original_seconds
        verdict.info["time"] = (
            f"{seconds:.1f} s vs the original chain's {plan.original_seconds:.1f} s ({ratio:.2f}x)"
        )
    else:
        verdict.info["time"] = f"{seconds:.1f} s"
    return verdict


def _on_cluster(
    subject: Subject, tolerance: float, tracking_uri: str | None, progress: Progress
) -> Verdict:
    """The same on Pachyderm: the plan from the cluster's lineage, the run in a project of
    its own (pachflow.reproduce.cluster)."""
    from pachflow.reproduce.cluster import run_cluster
    from pachflow_lineage.backends.pachyderm import PachydermBackend
    from pachflow_lineage.client import connect, resolve_target

    tracking = Tracking(tracking_uri)
    tracking.check()
    backend = open_backend("pachyderm")
    try:
        plan = _plan(backend, tracking, subject)
        client = (
            backend.client
            if isinstance(backend, PachydermBackend)
            else connect(resolve_target(None))
        )
        experiment = reproduction_experiment(tracking, plan.run_id, None)
        new_run, project, seconds = run_cluster(plan, client, tracking.tracking_uri, experiment)
        progress.say(f"reproduce: run {new_run} in Pachyderm project {project}")
        return _finish(plan, tracking, backend, new_run, seconds, tolerance)
    finally:
        backend.close()
