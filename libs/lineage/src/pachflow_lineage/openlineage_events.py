"""OpenLineage RunEvents for pipeline jobs (the `openlineage-python` client, the
`[openlineage]` extra): START when a job starts, COMPLETE or FAIL when it ends.

- job: namespace `pachyderm://<cluster>`, name `<project>/<pipeline>`;
  run id: the Pachyderm job id (32 hex digits, read as a UUID);
- datasets: the input commits and the output commit, named `<repo>@<commit>` in the same
  namespace: the input -> output edges are the lineage graph's input/output edges;
- run facet `pachyderm`: job id, spec commit (the stage version), project; on the train
  job, facet `mlflow`: run id, experiment, model versions (the provenance stage sends it);
  on a scoring job's COMPLETE, facet `modelVersion`: the registered model's name, version
  and training run id (from score's scoring.json records; `otherVersions` names any other
  version that scored a datum of the same job, e.g. when the alias moved mid-job).

Off unless OpenLineage is configured the standard way: OPENLINEAGE_URL (HTTP, e.g.
Marquez), OPENLINEAGE_CONFIG (a openlineage.yml), or OPENLINEAGE__TRANSPORT__* variables
(e.g. TYPE=file, LOG_FILE_PATH=..., APPEND=true); OPENLINEAGE_DISABLED=true wins.
PACHFLOW_OPENLINEAGE_CLUSTER names the cluster (default: `local` for the local runner).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from pachflow_contracts.commits import DEFAULT_PROJECT, CommitRef
from pachflow_lineage.graph import Job, Lineage
from pachflow_stagekit.mlflow_access import mask

PRODUCER = "https://github.com/pachflow/pachflow"
CLUSTER_ENV = "PACHFLOW_OPENLINEAGE_CLUSTER"
_CONFIG_ENVS = ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG")


def configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether the user asked for events (default off: no console spam, no import cost)."""
    env = os.environ if env is None else env
    if env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    return any(env.get(k) for k in _CONFIG_ENVS) or any(
        k.startswith("OPENLINEAGE__TRANSPORT") for k in env
    )


def namespace(cluster: str | None = None) -> str:
    return f"pachyderm://{cluster or os.environ.get(CLUSTER_ENV) or 'local'}"


def _facets() -> tuple[type, type, type]:
    import attr
    from openlineage.client.generated.base import RunFacet

    @attr.define
    class PachydermRunFacet(RunFacet):
        jobId: str
        pipeline: str
        project: str
        specCommit: str = ""

    @attr.define
    class MlflowRunFacet(RunFacet):
        runId: str
        experimentId: str = ""
        trackingUri: str = ""
        modelVersions: list[str] = attr.field(factory=list)

    @attr.define
    class ModelVersionRunFacet(RunFacet):
        name: str
        version: str
        runId: str
        trackingUri: str = ""
        otherVersions: list[str] = attr.field(factory=list)

    return PachydermRunFacet, MlflowRunFacet, ModelVersionRunFacet


def dataset_name(ref: CommitRef) -> str:
    return ref.label


def _version_order(name_version: tuple[str, str, str, str]) -> tuple[str, int, str]:
    name, version = name_version[:2]
    return name, int(version) if version.isdigit() else -1, version


def scoring_model(records: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The `modelVersion` facet of a scoring job from its scoring.json records (their
    `model`: name, version, run_id, tracking_uri); None when no record names a model."""
    found = set()
    for record in records:
        model = record.get("model")
        if isinstance(model, Mapping) and model.get("name") and model.get("version"):
            found.add(
                (
                    str(model["name"]),
                    str(model["version"]),
                    str(model.get("run_id") or ""),
                    str(model.get("tracking_uri") or ""),
                )
            )
    if not found:
        return None
    (name, version, run_id, uri), *others = sorted(found, key=_version_order)
    return {
        "name": name,
        "version": version,
        "runId": run_id,
        "trackingUri": mask(uri),  # data read from a commit: never a password
        "otherVersions": [f"{n}/{v}" for n, v, _, _ in others],
    }


class JobEvents:
    """Builds and sends the events of one job. `client`: an OpenLineageClient (default:
    from the environment, as configured above)."""

    def __init__(self, cluster: str | None = None, client: Any = None) -> None:
        from openlineage.client import OpenLineageClient

        self.namespace = namespace(cluster)
        self.client = client or OpenLineageClient()

    def event(
        self,
        state: str,
        pipeline: str,
        job_id: str,
        inputs: Iterable[CommitRef],
        output: CommitRef | None = None,
        *,
        project: str = DEFAULT_PROJECT,
        spec_commit: str = "",
        mlflow: dict[str, Any] | None = None,
        model: Mapping[str, Any] | None = None,
        error: str = "",
        event_time: str | None = None,
    ) -> Any:
        from openlineage.client.event_v2 import (
            InputDataset,
            Job,
            OutputDataset,
            Run,
            RunEvent,
            RunState,
        )
        from openlineage.client.facet_v2 import error_message_run

        pachyderm_facet, mlflow_facet, model_facet = _facets()
        facets: dict[str, Any] = {
            "pachyderm": pachyderm_facet(
                jobId=job_id, pipeline=pipeline, project=project, specCommit=spec_commit
            )
        }
        if mlflow:
            facets["mlflow"] = mlflow_facet(**mlflow)
        if model:
            facets["modelVersion"] = model_facet(**model)
        if error:
            facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=error, programmingLanguage="python"
            )
        return RunEvent(
            eventType=RunState[state],
            eventTime=event_time or datetime.now(UTC).isoformat(),
            run=Run(runId=str(uuid.UUID(hex=job_id)), facets=facets),
            job=Job(namespace=self.namespace, name=f"{project}/{pipeline}"),
            producer=PRODUCER,
            inputs=[InputDataset(self.namespace, dataset_name(r)) for r in inputs],
            outputs=[OutputDataset(self.namespace, dataset_name(output))] if output else [],
        )

    def emit(
        self, state: str, pipeline: str, job_id: str, inputs: Iterable[CommitRef], **kw: Any
    ) -> None:
        self.client.emit(self.event(state, pipeline, job_id, list(inputs), **kw))


def chain_events(lineage: Lineage, events: JobEvents) -> list[Any]:
    """START and COMPLETE/FAIL events for every job of a resolved lineage, at the job's own
    start and finish times: how the provenance stage reports a chain Pachyderm ran. The
    job that made an MLflow run gets the `mlflow` facet (run, experiment, model versions),
    a scoring job the `modelVersion` facet of the version that scored it."""
    result = []
    for job in lineage.jobs.values():
        inputs = [
            lineage.commits[e.src].ref
            for e in lineage.edges
            if e.dst == job.key and e.kind == "input" and e.src in lineage.commits
        ]
        outputs = [
            lineage.commits[e.dst].ref
            for e in lineage.edges
            if e.src == job.key and e.kind == "output" and e.dst in lineage.commits
        ]
        spec = next(
            (
                lineage.commits[e.src].ref.id
                for e in lineage.edges
                if e.dst == job.key and e.kind == "spec" and e.src in lineage.commits
            ),
            "",
        )
        # what every event of this job says: which job, its inputs, its spec
        event = partial(
            events.event,
            pipeline=job.pipeline,
            job_id=job.id,
            inputs=inputs,
            project=job.project,
            spec_commit=spec,
        )
        result.append(event("START", event_time=job.created))
        if job.state == "JOB_SUCCESS":
            result.append(
                event(
                    "COMPLETE",
                    output=outputs[0] if outputs else None,
                    mlflow=_mlflow_facet(lineage, job),
                    model=_model_facet(lineage, job),
                    event_time=job.finished,
                )
            )
        elif job.state in ("JOB_FAILURE", "JOB_KILLED"):
            result.append(event("FAIL", error=job.reason or job.state, event_time=job.finished))
    return result


def _mlflow_facet(lineage: Lineage, job: Job) -> dict[str, Any] | None:
    """The run tracked by this job (directly or through one of its datums)."""
    fed = {job.key} | {e.dst for e in lineage.edges if e.src == job.key and e.kind == "datum"}
    for e in lineage.edges:
        if e.src in fed and e.kind == "tracked" and e.dst in lineage.runs:
            run = lineage.runs[e.dst]
            versions = [
                f"{lineage.model_versions[r.dst].name}/{lineage.model_versions[r.dst].version}"
                for r in lineage.edges
                if r.src == run.key and r.kind == "registered" and r.dst in lineage.model_versions
            ]
            return {
                "runId": run.run_id,
                "experimentId": run.experiment_id,
                "trackingUri": lineage.info.get("tracking uri", ""),
                "modelVersions": versions,
            }
    return None


def _model_facet(lineage: Lineage, job: Job) -> dict[str, Any] | None:
    """The model version(s) that scored this job (`scored` edges into it)."""
    used = [
        lineage.model_versions[e.src]
        for e in lineage.edges
        if e.dst == job.key and e.kind == "scored" and e.src in lineage.model_versions
    ]
    uri = lineage.info.get("tracking uri", "")
    return scoring_model(
        {"model": {"name": m.name, "version": m.version, "run_id": m.run_id, "tracking_uri": uri}}
        for m in used
    )


def maybe_events(cluster: str | None = None) -> JobEvents | None:
    """A JobEvents when OpenLineage is configured, else None (and nothing is imported)."""
    return JobEvents(cluster) if configured() else None
