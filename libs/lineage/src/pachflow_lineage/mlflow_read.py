"""Reading MLflow runs and model versions for lineage without importing mlflow.

`import mlflow` plus MlflowClient's store set-up cost ~5 s (pandas, SQLAlchemy, alembic's
schema check), far more than a lineage question itself. So the two stores a lineage query
meets in practice are read directly: a local `sqlite:///` store with the standard library's
sqlite3 (read-only), and an `http(s)://` tracking server through its REST API
(/api/2.0/mlflow/...). Any other URI falls back to MlflowClient (tracking.ClientReader).

The records mirror the attribute names of MLflow's entities (`run.info.run_id`,
`run.data.tags`, `run.inputs.dataset_inputs[i].dataset.digest`, ...), so the code that
reads them does not care which reader produced them.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class NotFound(Exception):
    """The run or model version does not exist."""


class ReadFailed(Exception):
    """The store could not be read (server down, not an MLflow database, ...)."""


class Unsupported(Exception):
    """This reader cannot do it (e.g. artifacts in a remote store): ask MlflowClient."""


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    status: str


@dataclass(frozen=True)
class RunData:
    tags: dict[str, str]
    metrics: dict[str, float] = field(default_factory=dict)  # the latest value of each
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InputTag:
    key: str
    value: str


@dataclass(frozen=True)
class Dataset:
    name: str
    digest: str
    source: str
    source_type: str


@dataclass(frozen=True)
class DatasetInput:
    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)


@dataclass(frozen=True)
class RunInputs:
    dataset_inputs: list[DatasetInput]


@dataclass(frozen=True)
class RunRecord:
    info: RunInfo
    data: RunData
    inputs: RunInputs


@dataclass(frozen=True)
class ModelVersionRecord:
    name: str
    version: str
    run_id: str
    status: str
    aliases: list[str]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSearch:
    """What every reader's find_runs looks for: active runs of active experiments with
    every tag in `tags` (exact values), and/or a dataset input of this `digest`, and/or an
    id starting with `id_prefix` (hex only), as MlflowClient.search_runs finds them."""

    tags: dict[str, str] = field(default_factory=dict)
    digest: str | None = None
    id_prefix: str | None = None

    def filter(self) -> str:
        """The search as an MLflow search_runs filter string (REST and MlflowClient alike)."""
        clauses = [f"tags.`{k}` = '{quote(v)}'" for k, v in sorted(self.tags.items())]
        if self.digest is not None:
            clauses.append(f"datasets.digest = '{quote(self.digest)}'")
        if self.id_prefix is not None:
            clauses.append(f"attributes.run_id LIKE '{quote(self.id_prefix)}%'")
        return " AND ".join(clauses)


def reader_for(uri: str, timeout_s: float) -> SqliteReader | RestReader | None:
    """The direct reader for `uri`, or None when MlflowClient has to do it."""
    if uri.startswith("sqlite:///"):
        return SqliteReader(Path(uri[len("sqlite:///") :]))
    if uri.startswith(("http://", "https://")):
        return RestReader(uri, timeout_s)
    return None


# --- sqlite -------------------------------------------------------------------------------
_ACTIVE = (
    "SELECT r.run_uuid FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id"
    " WHERE r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active'"
)
_HAS_TAG = (
    " AND EXISTS (SELECT 1 FROM tags t WHERE t.run_uuid = r.run_uuid AND t.key = ? AND t.value = ?)"
)
_HAS_DIGEST = (
    " AND EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id"
    " WHERE i.destination_type = 'RUN' AND i.destination_id = r.run_uuid"
    " AND i.source_type = 'DATASET' AND d.digest = ?)"
)


class SqliteReader:
    """A local MLflow database (the schema MLflow's SQLAlchemy store writes), read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            if not self.path.is_file():
                raise ReadFailed(f"no MLflow database at {self.path}")
            try:
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            except sqlite3.Error as exc:
                raise ReadFailed(f"{self.path}: {exc}") from exc
        return self._db

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise ReadFailed(f"{self.path} is not a readable MLflow database: {exc}") from exc

    def check(self) -> None:
        self._rows("SELECT 1 FROM runs LIMIT 1")

    def get_run(self, run_id: str) -> RunRecord:
        found = self._rows(
            "SELECT run_uuid, experiment_id, name, status FROM runs WHERE run_uuid = ?", (run_id,)
        )
        if not found:
            raise NotFound(run_id)
        uuid, experiment_id, name, status = found[0]
        tags = dict(self._rows("SELECT key, value FROM tags WHERE run_uuid = ?", (uuid,)))
        metrics = {
            key: float("nan") if is_nan else float(value)
            for key, value, is_nan in self._rows(
                "SELECT key, value, is_nan FROM latest_metrics WHERE run_uuid = ?", (uuid,)
            )
        }
        inputs = []
        for input_uuid, name_, digest, source, source_type in self._rows(
            "SELECT i.input_uuid, d.name, d.digest, d.dataset_source, d.dataset_source_type"
            " FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id"
            " WHERE i.destination_type = 'RUN' AND i.destination_id = ?"
            " AND i.source_type = 'DATASET' ORDER BY i.rowid",
            (uuid,),
        ):
            input_tags = self._rows(
                "SELECT name, value FROM input_tags WHERE input_uuid = ?", (input_uuid,)
            )
            inputs.append(
                DatasetInput(
                    Dataset(name_, digest, source, source_type),
                    [InputTag(k, v) for k, v in input_tags],
                )
            )
        return RunRecord(
            RunInfo(uuid, str(experiment_id), name or "", status),
            RunData(
                tags,
                metrics,
                dict(self._rows("SELECT key, value FROM params WHERE run_uuid = ?", (uuid,))),
            ),
            RunInputs(inputs),
        )

    def find_runs(self, search: RunSearch) -> list[RunRecord]:
        sql, args = _ACTIVE, []
        if search.id_prefix is not None:  # hex only (RunSearch): no LIKE wildcard in it
            sql += " AND r.run_uuid LIKE ?"
            args.append(search.id_prefix + "%")
        for key, value in sorted(search.tags.items()):
            sql += _HAS_TAG
            args += [key, value]
        if search.digest is not None:
            sql += _HAS_DIGEST
            args.append(search.digest)
        return [self.get_run(uuid) for (uuid,) in self._rows(sql, tuple(args))]

    def read_artifact(self, run_id: str, path: str) -> bytes | None:
        """A run's artifact when its artifact root is a local directory (the local store's
        default, ./mlruns); None when the run has no such file; Unsupported otherwise."""
        rows = self._rows("SELECT artifact_uri FROM runs WHERE run_uuid = ?", (run_id,))
        if not rows:
            raise NotFound(run_id)
        root = local_dir(rows[0][0] or "")
        if root is None:
            raise Unsupported(f"artifacts of run {run_id} are not in a local directory")
        target = root / path
        return target.read_bytes() if target.is_file() else None

    def _aliases(self, name: str, version: str) -> list[str]:
        return sorted(
            a
            for (a,) in self._rows(
                "SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ?",
                (name, int(version)),
            )
        )

    def _version(self, row: tuple[Any, ...]) -> ModelVersionRecord:
        name, version, run_id, status = row
        tags = self._rows(
            "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?",
            (name, int(version)),
        )
        return ModelVersionRecord(
            name,
            str(version),
            run_id or "",
            status or "",
            self._aliases(name, str(version)),
            dict(tags),
        )

    _MV = (
        "SELECT name, version, run_id, status FROM model_versions"
        " WHERE current_stage != 'Deleted_Internal'"
    )

    def model_versions_for_run(self, run_id: str) -> list[ModelVersionRecord]:
        return [self._version(r) for r in self._rows(self._MV + " AND run_id = ?", (run_id,))]

    def get_model_version(self, name: str, version: str) -> ModelVersionRecord:
        rows = self._rows(self._MV + " AND name = ? AND version = ?", (name, int(version)))
        if not rows:
            raise NotFound(f"{name}/{version}")
        return self._version(rows[0])

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersionRecord:
        rows = self._rows(
            "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
            (name, alias),
        )
        if not rows:
            raise NotFound(f"{name}@{alias}")
        return self.get_model_version(name, str(rows[0][0]))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


# --- REST ---------------------------------------------------------------------------------
_NOT_FOUND = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"}


class RestReader:
    """An MLflow tracking server, through the REST API its own client uses."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self.root = base_url.rstrip("/")
        self.base = self.root + "/api/2.0/mlflow/"
        self.timeout_s = timeout_s

    def read_artifact(self, run_id: str, path: str) -> bytes | None:
        """A run's artifact through the server (the route its UI reads artifacts by,
        whatever the artifact store); None when the run has no such file."""
        try:
            content: bytes = self._call(
                "", {"path": path, "run_uuid": run_id}, raw=True, url=self.root + "/get-artifact"
            )
            return content
        except NotFound:
            return None
        except ReadFailed as exc:
            raise Unsupported(str(exc)) from exc

    def _call(
        self,
        endpoint: str,
        query: dict[str, Any] | None = None,
        body: Any = None,
        raw: bool = False,
        url: str | None = None,
        upload: bytes | None = None,
    ) -> Any:
        """GET, POST of a JSON `body`, or PUT of `upload` (an artifact file's bytes)."""
        url = url or self.base + endpoint
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data: bytes | None = upload
        method, kind = "PUT", "application/octet-stream"
        if upload is None:
            data = None if body is None else json.dumps(body).encode()
            method, kind = ("POST" if data else "GET"), "application/json"
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Content-Type", kind)
        auth = auth_header()
        if auth:
            request.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                content = response.read()
                return content if raw else json.loads(content or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read() or b"{}")
            except ValueError:
                error = {}
            if error.get("error_code") in _NOT_FOUND:
                raise NotFound(error.get("message", endpoint)) from exc
            if exc.code == 403 or error.get("error_code") == "PERMISSION_DENIED":
                # MLflow's auth app answers 403 for an object that does not exist (it finds
                # no experiment to check); to the reader it is an object it cannot see.
                raise NotFound(f"not found or not readable with these credentials: {url}") from exc
            raise ReadFailed(f"HTTP {exc.code} from {url}: {error.get('message', '')}") from exc
        except (OSError, ValueError) as exc:
            raise ReadFailed(f"{url}: {exc}") from exc

    def check(self) -> None:
        self._call("experiments/search", body={"max_results": 1})

    @staticmethod
    def _run(raw: dict[str, Any]) -> RunRecord:
        info, data = raw.get("info", {}), raw.get("data", {})
        inputs = [
            DatasetInput(
                Dataset(
                    d.get("dataset", {}).get("name", ""),
                    d.get("dataset", {}).get("digest", ""),
                    d.get("dataset", {}).get("source", ""),
                    d.get("dataset", {}).get("source_type", ""),
                ),
                [InputTag(t["key"], t.get("value", "")) for t in d.get("tags", [])],
            )
            for d in raw.get("inputs", {}).get("dataset_inputs", [])
        ]
        return RunRecord(
            RunInfo(
                info.get("run_id") or info.get("run_uuid", ""),
                str(info.get("experiment_id", "")),
                info.get("run_name", ""),
                info.get("status", ""),
            ),
            RunData(
                {t["key"]: t.get("value", "") for t in data.get("tags", [])},
                {m["key"]: float(m.get("value", "nan")) for m in data.get("metrics", [])},
                {p["key"]: p.get("value", "") for p in data.get("params", [])},
            ),
            RunInputs(inputs),
        )

    def get_run(self, run_id: str) -> RunRecord:
        return self._run(self._call("runs/get", {"run_id": run_id})["run"])

    def _experiment_ids(self) -> list[str]:
        ids: list[str] = []
        body: dict[str, Any] = {"max_results": 1000}
        while True:
            page = self._call("experiments/search", body=body)
            ids += [e["experiment_id"] for e in page.get("experiments", [])]
            if not page.get("next_page_token"):
                return ids
            body["page_token"] = page["next_page_token"]

    def find_runs(self, search: RunSearch) -> list[RunRecord]:
        experiments = self._experiment_ids()
        body: dict[str, Any] = {
            "experiment_ids": experiments,
            "filter": search.filter(),
            "max_results": 1000,
        }
        runs: list[RunRecord] = []
        while experiments:
            page = self._call("runs/search", body=body)
            runs += [self._run(r) for r in page.get("runs", [])]
            if not page.get("next_page_token"):
                break
            body["page_token"] = page["next_page_token"]
        return runs

    @staticmethod
    def _version(raw: dict[str, Any]) -> ModelVersionRecord:
        return ModelVersionRecord(
            raw.get("name", ""),
            str(raw.get("version", "")),
            raw.get("run_id", ""),
            raw.get("status", ""),
            sorted(raw.get("aliases", [])),
            {t["key"]: t.get("value", "") for t in raw.get("tags", [])},
        )

    def model_versions_for_run(self, run_id: str) -> list[ModelVersionRecord]:
        found = self._call("model-versions/search", {"filter": f"run_id = '{quote(run_id)}'"}).get(
            "model_versions", []
        )
        # search leaves the aliases out (as for MlflowClient): read each version in full
        return [self.get_model_version(mv["name"], str(mv["version"])) for mv in found]

    def get_model_version(self, name: str, version: str) -> ModelVersionRecord:
        raw = self._call("model-versions/get", {"name": name, "version": version})
        return self._version(raw["model_version"])

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersionRecord:
        raw = self._call("registered-models/alias", {"name": name, "alias": alias})
        return self._version(raw["model_version"])

    def close(self) -> None:
        pass


def auth_header() -> str | None:
    """The credentials MLflow's own client sends (its environment variables: what the
    spec's mlflow-credentials secret sets in a worker): basic auth, else a bearer token."""
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    return f"Bearer {token}" if token else None


def local_dir(uri: str) -> Path | None:
    """The directory of a local artifact URI (`/abs/path` or `file:///abs/path`), else None."""
    if uri.startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlparse(uri).path))
    return Path(uri) if uri.startswith("/") else None


def quote(value: str) -> str:
    """A value inside a single-quoted MLflow filter string."""
    return value.replace("\\", "\\\\").replace("'", "\\'")
