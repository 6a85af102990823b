"""The MLflow side of lineage, through MlflowClient: runs by id or by `pachyderm.*` tags and
dataset inputs, registered model versions, and the link stage's writes (tags, artifacts)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mlflow.entities import Run as MlflowRun
from mlflow.entities.model_registry import ModelVersion as MlflowModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pachflow_lineage.errors import UnknownModelVersion, UnknownRun, Unreachable
from pachflow_lineage.model import CommitRef, ModelVersion, Run

_NOT_FOUND = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}
TAG_PREFIX = "pachyderm."


def quiet_http_retries(retries: int, timeout_s: int) -> None:
    """MLflow retries HTTP calls for minutes by default; a lineage question should fail
    within seconds when the server is down. Only sets what the user left unset."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(retries))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(timeout_s))


def _error_code(exc: MlflowException) -> str:
    return str(getattr(exc, "error_code", ""))


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


class Tracking:
    """Read and annotate MLflow runs and model versions for lineage."""

    def __init__(self, tracking_uri: str | None = None) -> None:
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.tracking_uri = self.client.tracking_uri

    def _unreachable(self, exc: Exception) -> Unreachable:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Unreachable(f"MLflow at {self.tracking_uri} is unreachable or refused: {first}")

    def check(self) -> None:
        """Fail with Unreachable now rather than at the first lookup."""
        try:
            self.client.search_experiments(max_results=1)
        except Exception as exc:
            raise self._unreachable(exc) from exc

    # --- reads -----------------------------------------------------------------------
    def get_run(self, run_id: str) -> MlflowRun:
        try:
            return self.client.get_run(run_id)
        except MlflowException as exc:
            if _error_code(exc) in _NOT_FOUND:
                raise UnknownRun(f"no MLflow run {run_id!r} at {self.tracking_uri}") from exc
            raise self._unreachable(exc) from exc
        except Exception as exc:
            raise self._unreachable(exc) from exc

    def run_node(self, run: MlflowRun) -> Run:
        datasets = [
            {
                "name": d.dataset.name,
                "digest": d.dataset.digest,
                "source": d.dataset.source,
                "source_type": d.dataset.source_type,
                "context": next((t.value for t in d.tags if t.key == "mlflow.data.context"), ""),
            }
            for d in (run.inputs.dataset_inputs if run.inputs else [])
        ]
        tags = {k: v for k, v in run.data.tags.items() if k.startswith(TAG_PREFIX)}
        return Run(
            run_id=run.info.run_id,
            experiment_id=run.info.experiment_id,
            name=run.info.run_name or "",
            status=run.info.status,
            tags=dict(sorted(tags.items())),
            datasets=datasets,
            url=self.run_url(run.info.experiment_id, run.info.run_id) or "",
            metrics=dict(sorted(run.data.metrics.items())),
        )

    def _experiment_ids(self) -> list[str]:
        ids: list[str] = []
        token = None
        while True:
            page = self.client.search_experiments(max_results=1000, page_token=token)
            ids += [e.experiment_id for e in page]
            token = page.token
            if not token:
                return ids

    def _search(self, filter_string: str) -> Iterator[MlflowRun]:
        try:
            experiments = self._experiment_ids()
            token = None
            while experiments:
                page = self.client.search_runs(
                    experiments, filter_string=filter_string, max_results=1000, page_token=token
                )
                yield from page
                token = page.token
                if not token:
                    return
        except MlflowException as exc:
            raise self._unreachable(exc) from exc

    def runs_by_tags(self, tags: dict[str, str]) -> list[MlflowRun]:
        """Runs (any experiment) carrying every tag in `tags` with exactly that value."""
        clause = " AND ".join(f"tags.`{k}` = '{_quote(v)}'" for k, v in sorted(tags.items()))
        return list(self._search(clause))

    def runs_with_dataset(self, ref: CommitRef) -> list[MlflowRun]:
        """Runs that logged this commit as a dataset input (digest = commit id)."""
        runs = self._search(f"datasets.digest = '{_quote(ref.id)}'")
        return [
            r
            for r in runs
            if any(_names_commit(d.dataset.name, ref) for d in r.inputs.dataset_inputs)
        ]

    def model_versions_for_run(self, run_id: str) -> list[ModelVersion]:
        # search_model_versions returns versions without their aliases (MLflow fills them in
        # only on get_model_version), so each version found is read again, in full.
        try:
            found = self.client.search_model_versions(f"run_id = '{_quote(run_id)}'")
            full = [self.client.get_model_version(mv.name, mv.version) for mv in found]
        except MlflowException as exc:
            raise self._unreachable(exc) from exc
        return sorted((self._mv_node(mv) for mv in full), key=lambda m: (m.name, int(m.version)))

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """`version` is a number or an alias (e.g. 'candidate')."""
        try:
            if version.isdigit():
                mv = self.client.get_model_version(name, version)
            else:
                mv = self.client.get_model_version_by_alias(name, version)
        except MlflowException as exc:
            if _error_code(exc) in _NOT_FOUND:
                raise UnknownModelVersion(
                    f"no registered model version {name}/{version} at {self.tracking_uri}"
                ) from exc
            raise self._unreachable(exc) from exc
        return self._mv_node(mv)

    def _mv_node(self, mv: MlflowModelVersion) -> ModelVersion:
        return ModelVersion(
            name=mv.name,
            version=str(mv.version),
            run_id=mv.run_id or "",
            aliases=sorted(getattr(mv, "aliases", []) or []),
            status=str(mv.status or ""),
            url=self.model_url(mv.name, str(mv.version)) or "",
        )

    def load_json_artifact(self, run_id: str, path: str) -> dict[str, Any] | None:
        """A JSON artifact of a run, None when the run has no such artifact."""
        import tempfile

        parent = path.rpartition("/")[0] or None
        try:
            names = {a.path for a in self.client.list_artifacts(run_id, parent)}
            if path not in names:
                return None
            with tempfile.TemporaryDirectory(prefix="pachflow-artifact-") as tmp:
                local = self.client.download_artifacts(run_id, path, tmp)
                return dict(json.loads(Path(local).read_text()))
        except MlflowException as exc:
            raise self._unreachable(exc) from exc

    def download(self, run_id: str, path: str, dest: str) -> str:
        """An artifact (file or folder) of a run into `dest`; its local path."""
        try:
            return str(self.client.download_artifacts(run_id, path, dest))
        except MlflowException as exc:
            raise self._unreachable(exc) from exc

    # --- links -----------------------------------------------------------------------
    def _ui_base(self) -> str | None:
        uri = self.tracking_uri
        return uri.rstrip("/") if uri.startswith(("http://", "https://")) else None

    def run_url(self, experiment_id: str, run_id: str) -> str | None:
        base = self._ui_base()
        return f"{base}/#/experiments/{experiment_id}/runs/{run_id}" if base else None

    def model_url(self, name: str, version: str) -> str | None:
        base = self._ui_base()
        return f"{base}/#/models/{quote(name)}/versions/{version}" if base else None

    # --- writes (the link stage) -----------------------------------------------------
    def set_run_tags(self, run_id: str, tags: dict[str, str]) -> None:
        for key, value in sorted(tags.items()):
            self.client.set_tag(run_id, key, value)

    def set_model_version_tags(self, name: str, version: str, tags: dict[str, str]) -> None:
        for key, value in sorted(tags.items()):
            self.client.set_model_version_tag(name, version, key, value)

    def log_artifact(self, run_id: str, path: str, artifact_path: str) -> None:
        # Same artifact path on a retry: the file is replaced, not duplicated.
        self.client.log_artifact(run_id, path, artifact_path=artifact_path)


def _names_commit(dataset_name: str, ref: CommitRef) -> bool:
    """Dataset inputs are named `<repo>@<commit>` (train's convention)."""
    repo, _, commit_id = dataset_name.rpartition("@")
    return commit_id == ref.id and repo.split("/")[-1] in (ref.repo, "")
