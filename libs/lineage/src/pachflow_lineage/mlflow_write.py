"""The link stage's writes to MLflow (run tags, model version tags, the alias, artifacts),
through the tracking server's REST API when the tracking URI is http(s) (the endpoints
MLflow's own client calls: no `import mlflow`, which costs ~4 s because it pulls pandas
and pyspark in), else through MlflowClient (SQLite and other stores).

Every write is an upsert, as MlflowClient's: a retried datum ends in the same state.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pachflow_lineage import mlflow_read as mr
from pachflow_lineage.errors import Unreachable

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

#: The artifact URI scheme of a server that proxies its artifact store (`mlflow server`'s
#: default): clients upload through the server, whatever the store behind it.
PROXIED = "mlflow-artifacts:"


class RestWriter:
    """Writes through the tracking server's REST API."""

    def __init__(self, rest: mr.RestReader, fallback: Callable[[], ClientWriter]) -> None:
        self.rest = rest
        self.fallback = fallback  # for artifacts the server does not proxy (s3://, ...)

    def _post(self, endpoint: str, body: dict[str, str]) -> None:
        try:
            self.rest._call(endpoint, body=body)
        except (mr.NotFound, mr.ReadFailed) as exc:
            raise Unreachable(f"MLflow at {self.rest.root} refused {endpoint}: {exc}") from exc

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        self._post("runs/set-tag", {"run_id": run_id, "key": key, "value": value})

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        body = {"name": name, "version": version, "key": key, "value": value}
        self._post("model-versions/set-tag", body)

    def set_model_alias(self, name: str, alias: str, version: str) -> None:
        self._post("registered-models/alias", {"name": name, "alias": alias, "version": version})

    def log_artifact(self, run_id: str, path: str, artifact_path: str) -> None:
        try:
            uri = self.rest._call("runs/get", {"run_id": run_id})["run"]["info"]["artifact_uri"]
        except (mr.NotFound, mr.ReadFailed, KeyError) as exc:
            raise Unreachable(f"MLflow at {self.rest.root}: run {run_id}: {exc}") from exc
        if not uri.startswith(PROXIED):
            self.fallback().log_artifact(run_id, path, artifact_path)
            return
        where = "/".join(
            part.strip("/")
            for part in (urllib.parse.urlsplit(uri).path, artifact_path, Path(path).name)
        )
        url = f"{self.rest.root}/api/2.0/mlflow-artifacts/artifacts/{urllib.parse.quote(where)}"
        try:
            self.rest._call("", url=url, upload=Path(path).read_bytes())
        except (mr.NotFound, mr.ReadFailed) as exc:
            refused = f"MLflow at {self.rest.root} refused artifact {where}: {exc}"
            raise Unreachable(refused) from exc


class ClientWriter:
    """Writes through MlflowClient (made by the caller on first need: it costs seconds)."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        self.client.set_tag(run_id, key, value)

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.client.set_model_version_tag(name, version, key, value)

    def set_model_alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, version)

    def log_artifact(self, run_id: str, path: str, artifact_path: str) -> None:
        # Same artifact path on a retry: the file is replaced, not duplicated.
        self.client.log_artifact(run_id, path, artifact_path=artifact_path)
