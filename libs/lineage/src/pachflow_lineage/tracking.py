"""The MLflow side of lineage: runs by id or by `pachyderm.*` tags and dataset inputs,
registered model versions, and the link stage's writes (tags, artifacts).

Reads go through mlflow_read (sqlite3 or REST, no `import mlflow`: a lineage question
answers in well under a second) for sqlite:/// and http(s):// tracking URIs, and through
MlflowClient for any other store; writes (mlflow_write) through REST for http(s), else
MlflowClient.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pachflow_store as ps
from pachflow_contracts.commits import CommitRef, is_commit_id
from pachflow_contracts.run_tags import TAG_SCORING
from pachflow_lineage import mlflow_read as mr
from pachflow_lineage.errors import LineageError, UnknownModelVersion, UnknownRun, Unreachable
from pachflow_lineage.graph import ModelVersion, Run
from pachflow_lineage.mlflow_write import ClientWriter, RestWriter
from pachflow_stagekit.mlflow_access import split_userinfo

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

_NOT_FOUND = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}
TAG_PREFIX = "pachyderm."
SCORING = TAG_SCORING.split("{")[0]
TRACKING_ENV = "MLFLOW_TRACKING_URI"
#: Seconds a REST read may take before the server counts as unreachable.
DEFAULT_TIMEOUT_S = 10.0
#: Where `make mlflow-ui` serves a local store (Makefile: MLFLOW_UI_PORT).
LOCAL_UI = "http://127.0.0.1:5000"


def ui_base(tracking_uri: str) -> str | None:
    """The MLflow UI of a tracking URI: the server itself when it is http(s); for a local
    store (sqlite, file) where `make mlflow-ui` serves it, as `pachflow run` prints it;
    None for stores with a UI of their own elsewhere (databricks, ...)."""
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    if tracking_uri.startswith(("sqlite:", "file:", "/")) or "://" not in tracking_uri:
        return LOCAL_UI
    return None


def quiet_http_retries(retries: int, timeout_s: int) -> None:
    """MLflow retries HTTP calls for minutes by default; a lineage question should fail
    within seconds when the server is down. Only sets what the user left unset."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(retries))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(timeout_s))


class ClientReader:
    """mlflow_read's interface over MlflowClient, for stores it does not read itself."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            if str(getattr(exc, "error_code", "")) in _NOT_FOUND:
                raise mr.NotFound(str(exc)) from exc
            raise mr.ReadFailed(str(exc)) from exc

    def check(self) -> None:
        self._call(self.client.search_experiments, max_results=1)

    def get_run(self, run_id: str) -> Any:
        return self._call(self.client.get_run, run_id)

    def find_runs(self, search: mr.RunSearch) -> list[Any]:
        experiments, token = [], None
        while True:
            page = self._call(self.client.search_experiments, max_results=1000, page_token=token)
            experiments += [e.experiment_id for e in page]
            token = page.token
            if not token:
                break
        runs: list[Any] = []
        while experiments:
            page = self._call(
                self.client.search_runs,
                experiments,
                filter_string=search.filter(),
                max_results=1000,
                page_token=token,
            )
            runs += list(page)
            token = page.token
            if not token:
                break
        return runs

    def model_versions_for_run(self, run_id: str) -> list[Any]:
        # search_model_versions returns versions without their aliases (MLflow fills them in
        # only on get_model_version), so each version found is read again, in full.
        found = self._call(self.client.search_model_versions, f"run_id = '{mr.quote(run_id)}'")
        return [self.get_model_version(mv.name, mv.version) for mv in found]

    def get_model_version(self, name: str, version: str) -> Any:
        return self._call(self.client.get_model_version, name, version)

    def get_model_version_by_alias(self, name: str, alias: str) -> Any:
        return self._call(self.client.get_model_version_by_alias, name, alias)

    def close(self) -> None:
        pass


class Tracking:
    """Read and annotate MLflow runs and model versions for lineage."""

    def __init__(self, tracking_uri: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S):
        uri = tracking_uri or os.environ.get(TRACKING_ENV)
        if uri:  # user:password@ -> the Authorization header; never printed or stored
            uri = split_userinfo(uri)
        reader = mr.reader_for(uri, timeout_s) if uri else None
        self._client: MlflowClient | None = None
        if reader is None:
            self.reader: mr.SqliteReader | mr.RestReader | ClientReader = ClientReader(self.client)
            self.tracking_uri = self.client.tracking_uri
        else:
            self.reader = reader
            self.tracking_uri = uri or ""

    @property
    def client(self) -> MlflowClient:
        """MlflowClient, made on first use (writes, other stores): it costs seconds."""
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=getattr(self, "tracking_uri", None))
        return self._client

    def _unreachable(self, exc: Exception) -> Unreachable:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Unreachable(f"MLflow at {self.tracking_uri} is unreachable or refused: {first}")

    def _read(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except mr.NotFound:
            raise
        except mr.ReadFailed as exc:
            raise self._unreachable(exc) from exc

    def check(self) -> None:
        """Fail with Unreachable now rather than at the first lookup."""
        try:
            self.reader.check()
        except Exception as exc:
            raise self._unreachable(exc) from exc

    # --- reads -----------------------------------------------------------------------
    def get_run(self, run_id: str) -> Any:
        """The run (an MLflow Run, or a mlflow_read.RunRecord with the same attributes)."""
        try:
            return self._read(self.reader.get_run, run_id)
        except mr.NotFound as exc:
            raise UnknownRun(f"no MLflow run {run_id!r} at {self.tracking_uri}") from exc

    def resolve_run_id(self, text: str) -> str:
        """A run id as a person gives it: the full id, or a unique prefix of 4+ hex digits
        (as the CLI prints them); UnknownRun / LineageError (ambiguous) otherwise."""
        if is_commit_id(text) or not ps.is_id_prefix(text):
            return text
        try:
            found = self._read(self.reader.find_runs, mr.RunSearch(id_prefix=text))
            return ps.pick_unique("MLflow run", text, [r.info.run_id for r in found])
        except (mr.NotFound, ps.NotFound) as exc:
            raise UnknownRun(f"{exc} at {self.tracking_uri}") from exc
        except ps.StoreError as exc:
            raise LineageError(str(exc)) from exc

    def run_node(self, run: Any) -> Run:
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

    def runs_by_tags(self, tags: dict[str, str]) -> list[Any]:
        """Runs (any experiment) carrying every tag in `tags` with exactly that value."""
        try:
            runs: list[Any] = self._read(self.reader.find_runs, mr.RunSearch(tags=tags))
            return runs
        except mr.NotFound as exc:
            raise self._unreachable(exc) from exc

    def runs_with_dataset(self, ref: CommitRef) -> list[Any]:
        """Runs that logged this commit as a dataset input (digest = commit id)."""
        try:
            runs = self._read(self.reader.find_runs, mr.RunSearch(digest=ref.id))
        except mr.NotFound as exc:
            raise self._unreachable(exc) from exc
        return [
            r
            for r in runs
            if any(_names_commit(d.dataset.name, ref) for d in r.inputs.dataset_inputs)
        ]

    def model_versions_for_run(self, run_id: str) -> list[ModelVersion]:
        try:
            full = self._read(self.reader.model_versions_for_run, run_id)
        except mr.NotFound as exc:
            raise self._unreachable(exc) from exc
        return sorted((self._mv_node(mv) for mv in full), key=lambda m: (m.name, int(m.version)))

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """`version` is a number or an alias (e.g. 'candidate')."""
        try:
            if version.isdigit():
                mv = self._read(self.reader.get_model_version, name, version)
            else:
                mv = self._read(self.reader.get_model_version_by_alias, name, version)
        except mr.NotFound as exc:
            raise UnknownModelVersion(
                f"no registered model version {name}/{version} at {self.tracking_uri}"
            ) from exc
        return self._mv_node(mv)

    def _mv_node(self, mv: Any) -> ModelVersion:
        return ModelVersion(
            name=mv.name,
            version=str(mv.version),
            run_id=mv.run_id or "",
            aliases=sorted(getattr(mv, "aliases", []) or []),
            status=str(mv.status or ""),
            url=self.model_url(mv.name, str(mv.version)) or "",
            scoring_commits=sorted(
                v for k, v in (getattr(mv, "tags", None) or {}).items() if k.startswith(SCORING)
            ),
        )

    def load_json_artifact(self, run_id: str, path: str) -> dict[str, Any] | None:
        """A JSON artifact of a run, None when the run has no such artifact."""
        data = self.load_artifact(run_id, path)
        return None if data is None else dict(json.loads(data))

    def load_artifact(self, run_id: str, path: str) -> bytes | None:
        """An artifact file of a run, None when the run has no such artifact. Read directly
        (a local artifact directory, or the tracking server) when the reader can: MlflowClient
        costs seconds of imports, a lineage audit should answer in under one."""
        read = getattr(self.reader, "read_artifact", None)
        if read is not None:
            try:
                data: bytes | None = read(run_id, path)
            except mr.Unsupported:
                pass
            except mr.NotFound as exc:
                raise UnknownRun(f"no MLflow run {run_id!r} at {self.tracking_uri}") from exc
            else:
                return data
        import tempfile

        from mlflow.exceptions import MlflowException

        parent = path.rpartition("/")[0] or None
        try:
            names = {a.path for a in self.client.list_artifacts(run_id, parent)}
            if path not in names:
                return None
            with tempfile.TemporaryDirectory(prefix="pachflow-artifact-") as tmp:
                local = self.client.download_artifacts(run_id, path, tmp)
                return Path(local).read_bytes()
        except MlflowException as exc:
            raise self._unreachable(exc) from exc

    def download(self, run_id: str, path: str, dest: str) -> str:
        """An artifact (file or folder) of a run into `dest`; its local path."""
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.download_artifacts(run_id, path, dest))
        except MlflowException as exc:
            raise self._unreachable(exc) from exc

    # --- links -----------------------------------------------------------------------
    def _ui_base(self) -> str | None:
        return ui_base(self.tracking_uri)

    def run_url(self, experiment_id: str, run_id: str) -> str | None:
        base = self._ui_base()
        return f"{base}/#/experiments/{experiment_id}/runs/{run_id}" if base else None

    def model_url(self, name: str, version: str) -> str | None:
        base = self._ui_base()
        return f"{base}/#/models/{quote(name)}/versions/{version}" if base else None

    # --- writes (the link stage) -----------------------------------------------------
    @property
    def writer(self) -> RestWriter | ClientWriter:
        """REST for an http(s) server (no `import mlflow`), MlflowClient otherwise."""
        if isinstance(self.reader, mr.RestReader):
            return RestWriter(self.reader, lambda: ClientWriter(self.client))
        return ClientWriter(self.client)

    def set_run_tags(self, run_id: str, tags: dict[str, str]) -> None:
        writer = self.writer
        for key, value in sorted(tags.items()):
            writer.set_run_tag(run_id, key, value)

    def set_model_version_tags(self, name: str, version: str, tags: dict[str, str]) -> None:
        writer = self.writer
        for key, value in sorted(tags.items()):
            writer.set_model_version_tag(name, version, key, value)

    def set_model_alias(self, name: str, alias: str, version: str) -> None:
        """Point `alias` of registered model `name` at `version` (an upsert)."""
        self.writer.set_model_alias(name, alias, version)

    def log_artifact(self, run_id: str, path: str, artifact_path: str) -> None:
        # Same artifact path on a retry: the file is replaced, not duplicated.
        self.writer.log_artifact(run_id, path, artifact_path)


def _names_commit(dataset_name: str, ref: CommitRef) -> bool:
    """Dataset inputs are named `<repo>@<commit>` (train's convention)."""
    repo, _, commit_id = dataset_name.rpartition("@")
    return commit_id == ref.id and repo.split("/")[-1] in (ref.repo, "")
