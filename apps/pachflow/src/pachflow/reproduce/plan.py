"""What a reproduction needs, read from the original run's lineage: the commits people put
(the roots of the chain), the pipeline spec versions the run's jobs used, and the run's
tracking context. Anything missing is a ReproduceError naming it (exit 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any

from pachflow_contracts.commits import SPEC, USER
from pachflow_contracts.run_tags import TAG_PIPELINE
from pachflow_lineage.errors import LineageError
from pachflow_lineage.graph import Commit, Lineage, ModelVersion

if TYPE_CHECKING:
    from pachflow_lineage.resolve import Resolver


#: A reproduction's run goes to `<the run's experiment>-reproductions` and its model is
#: registered as `<model>-reproductions`: the user's experiment, versions and `candidate`
#: alias are not touched, on a local store or a cluster alike.
REPRODUCTIONS_SUFFIX = "-reproductions"


class ReproduceError(LineageError):
    """The run cannot be reproduced as asked: a commit or stage version is missing."""


@dataclass
class Plan:
    run_id: str
    pipeline: str  # the pipeline whose job made the run (train)
    model_version: ModelVersion | None
    lineage: Lineage
    roots: list[Commit]  # user commits no job made: what to put into the new store
    specs: dict[str, dict[str, Any]]  # pipeline -> the spec version the run's chain used
    original_seconds: float | None = None  # the chain's jobs, first start to last finish
    params: dict[str, str] = field(default_factory=dict)

    def tracking_env(self, experiment: str) -> dict[str, str]:
        """What the reproducing train is told about MLflow: the reproductions' experiment
        and, for a registered run, the reproductions' model (train's PACHFLOW_* options)."""
        env = {"PACHFLOW_EXPERIMENT": experiment}
        if self.model_version is not None:
            env["PACHFLOW_REGISTERED_MODEL"] = self.model_version.name + REPRODUCTIONS_SUFFIX
        return env


def build_plan(resolver: Resolver, run_id: str, mv: ModelVersion | None) -> Plan:
    lineage = resolver.upstream_of_run(run_id)
    missing = [n for n in lineage.notes if "no commit" in n]
    if missing:
        raise ReproduceError(f"cannot reproduce run {run_id}: {missing[0]}")
    made = {e.dst for e in lineage.edges if e.kind in ("output", "provenance")}
    roots = [c for c in lineage.commits.values() if c.ref.repo_type == USER and c.key not in made]
    if not roots:
        raise ReproduceError(f"run {run_id}: its lineage has no input data commit to start from")
    specs: dict[str, dict[str, Any]] = {}
    for c in lineage.commits.values():
        if c.ref.repo_type != SPEC:
            continue
        spec = resolver.backend.spec(c.ref)
        if spec is None:
            raise ReproduceError(
                f"cannot reproduce run {run_id}: stage version {c.ref.label} (the spec of "
                f"pipeline {c.ref.repo} its chain ran) is gone from {resolver.backend.name}"
            )
        specs[c.ref.repo] = spec
    mlrun = resolver.tracking.get_run(run_id)
    pipeline = mlrun.data.tags.get(TAG_PIPELINE, "")
    if pipeline not in specs:
        raise ReproduceError(f"run {run_id}: its pipeline {pipeline!r} has no spec in its lineage")
    return Plan(
        run_id=run_id,
        pipeline=pipeline,
        model_version=mv,
        lineage=lineage,
        roots=roots,
        specs=specs,
        original_seconds=_chain_seconds(lineage),
        params=dict(mlrun.data.params),
    )


def _chain_seconds(lineage: Lineage) -> float | None:
    starts = [j.created for j in lineage.jobs.values() if j.created]
    ends = [j.finished for j in lineage.jobs.values() if j.finished]
    if not starts or not ends:
        return None
    parse = datetime.fromisoformat
    return (max(map(parse, ends)) - min(map(parse, starts))).total_seconds()


def image_of(spec: dict[str, Any]) -> str:
    return str((spec.get("transform") or {}).get("image") or "")


def check_local_stages(plan: Plan) -> None:
    """--runtime local runs the installed stage packages: each must be the version the
    spec's image tag names (pachflow/pachflow-train:0.1.0 -> pachflow-train 0.1.0)."""
    for pipeline, spec in sorted(plan.specs.items()):
        image = image_of(spec)
        name, _, tag = image.rpartition("/")[2].partition(":")
        if not name or not tag:
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != tag:
            raise ReproduceError(
                f"stage version not buildable here: pipeline {pipeline} ran image {image}, "
                f"the installed {name} is {installed} (check out the commit that tagged "
                f"{tag}, or use --runtime podman with that image)"
            )
