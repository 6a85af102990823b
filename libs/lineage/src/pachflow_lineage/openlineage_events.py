"""OpenLineage RunEvents for pipeline jobs (the `openlineage-python` client, the
`[openlineage]` extra): START when a job starts, COMPLETE or FAIL when it ends.

- job: namespace `pachyderm://<cluster>`, name `<project>/<pipeline>`;
  run id: the Pachyderm job id (32 hex digits, read as a UUID);
- datasets: the input commits and the output commit, named `<repo>@<commit>` in the same
  namespace: the input -> output edges are the lineage graph's input/output edges;
- run facet `pachyderm`: job id, spec commit (the stage version), project; on the train
  job, facet `mlflow`: run id, experiment, model versions (the provenance stage sends it).

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
from typing import Any

from pachflow_lineage.model import CommitRef

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


def _facets() -> tuple[type, type]:
    import attr
    from openlineage.client.generated.base import RunFacet

    @attr.define
    class PachydermRunFacet(RunFacet):  # type: ignore[misc]
        jobId: str
        pipeline: str
        project: str
        specCommit: str = ""

    @attr.define
    class MlflowRunFacet(RunFacet):  # type: ignore[misc]
        runId: str
        experimentId: str = ""
        trackingUri: str = ""
        modelVersions: list[str] = attr.field(factory=list)

    return PachydermRunFacet, MlflowRunFacet


def dataset_name(ref: CommitRef) -> str:
    return ref.label


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
        project: str = "default",
        spec_commit: str = "",
        mlflow: dict[str, Any] | None = None,
        error: str = "",
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

        pachyderm_facet, mlflow_facet = _facets()
        facets: dict[str, Any] = {
            "pachyderm": pachyderm_facet(
                jobId=job_id, pipeline=pipeline, project=project, specCommit=spec_commit
            )
        }
        if mlflow:
            facets["mlflow"] = mlflow_facet(**mlflow)
        if error:
            facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=error, programmingLanguage="python"
            )
        return RunEvent(
            eventType=RunState[state],
            eventTime=datetime.now(UTC).isoformat(),
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


def maybe_events(cluster: str | None = None) -> JobEvents | None:
    """A JobEvents when OpenLineage is configured, else None (and nothing is imported)."""
    return JobEvents(cluster) if configured() else None
