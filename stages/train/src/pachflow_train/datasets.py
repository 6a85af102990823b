"""A job's input commits as MLflow dataset inputs (imports mlflow: only where runs are logged)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import DatasetInput, InputTag
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from pachflow_contracts.run_tags import (
    DATASET_TAG_COMMIT,
    DATASET_TAG_READ_FROM,
    DATASET_TAG_REPO,
)
from pachflow_contracts.worker_context import InputCommit, PachydermContext
from pachflow_train.pfs_source import PfsDatasetSource  # registers it with MLflow


def dataset_inputs(
    ctx: PachydermContext,
    context: str = "training",
    schema: Any = None,
    read_from: Mapping[str, str] | None = None,
) -> list[DatasetInput]:
    """One `mlflow.entities.DatasetInput` per input commit, for `MlflowClient.log_inputs`.

    Name `<repo>@<commit>`, digest = the commit id, source `pfs://<project>/<repo>@
    <commit>/<path>` (for a local context: a local directory's path, or an object store's
    `s3://` URL, MLflow's S3 source). `schema` is an optional `mlflow.types.Schema` of the
    data read; `read_from` ({input name: URL}) tags inputs read from an object store (an
    S3 gateway's bucket) with that URL.
    """
    read_from = read_from or {}
    result = []
    for i in ctx.inputs:
        if ctx.local:
            source = resolve_dataset_source(s3_uri(i.path or i.name))
        else:
            source = PfsDatasetSource(ctx.project, i.repo, i.commit, pfs_path(i))
        # mlflow 3.17.2: Dataset.profile is marked abstract and MetaDataset (MLflow's own
        # schema-only dataset) leaves it out; Dataset is no ABC, so it instantiates.
        dataset = MetaDataset(  # type: ignore[abstract]
            source=source, name=i.ref, digest=i.commit, schema=schema
        )
        tags = [
            InputTag(MLFLOW_DATASET_CONTEXT, context),
            InputTag(DATASET_TAG_REPO, i.repo),
            InputTag(DATASET_TAG_COMMIT, i.commit),
        ]
        if i.name in read_from:
            tags.append(InputTag(DATASET_TAG_READ_FROM, read_from[i.name]))
        result.append(DatasetInput(dataset._to_mlflow_entity(), tags=tags))
    return result


def s3_uri(path: str) -> str:
    """`s3a://b/k` and `s3n://b/k` as `s3://b/k`: Hadoop's names for the object MLflow
    knows (and links in its UI) as s3://; anything else unchanged."""
    scheme, sep, rest = path.partition("://")
    return f"s3://{rest}" if sep and scheme in ("s3a", "s3n") else path


def pfs_path(i: InputCommit) -> str:
    """The datum's path inside the repo: `/pfs/<name>/a/b` -> `a/b` ("" = whole repo)."""
    if not i.path:
        return ""
    parts = Path(i.path).parts
    if i.name in parts:
        return "/".join(parts[parts.index(i.name) + 1 :])
    return ""
