"""Everything train does in MLflow (the write side; lineage reads it back): one run per
Pachyderm job + datum (retry-safe), params, metrics, tags, dataset inputs, artifacts, the
Spark model and its registered version.

HTTP failures: MLflow's own client retries with backoff (urllib3) are configured through
its env vars (MLFLOW_HTTP_REQUEST_MAX_RETRIES / _BACKOFF_FACTOR / _TIMEOUT) from train's
options, instead of a second retry loop here. When they are exhausted the stage exits 1
with a message naming the tracking URI (TrackingUnavailable). A server that restarts or
loses its database answers 503, which those retries ride out.

Credentials come from the environment only, as MLflow's client reads them on every
request: MLFLOW_TRACKING_USERNAME/PASSWORD (basic auth; the mlflow-credentials secret of
the spec) or MLFLOW_TRACKING_TOKEN (bearer). 401 and 403 are not retried: the stage exits
1 at once, saying "authentication" or "permission denied". Secrets never reach a message,
run.json or MLflow: messages go through pachflow_stagekit.mlflow_access.mask, and a URI's
userinfo becomes the Authorization header (credentials.split_userinfo).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pachflow_contracts.run_manifest import RegisteredVersion
from pachflow_contracts.worker_context import PachydermContext
from pachflow_stagekit import EXIT_FAILURE
from pachflow_stagekit.mlflow_access import (
    PASSWORD_ENV,
    TOKEN_ENV,
    USERNAME_ENV,
    mask,
    split_userinfo,
)

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

MODEL_ARTIFACT = "model"
SPARK_MODEL_SUBDIR = "sparkml"  # where mlflow.spark puts the PipelineModel inside the model
CANDIDATE_ALIAS = "candidate"


class TrackingUnavailable(click.ClickException):
    """MLflow could not be reached, or refused a request, after the configured retries."""

    exit_code = EXIT_FAILURE


class TrackingAuthFailed(TrackingUnavailable):
    """MLflow rejected the credentials (401) or the user's permissions (403)."""


def identity() -> str:
    """Who the client authenticates as, for messages (never the secret itself)."""
    user, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
    if user and password:
        return f"user {user!r} ({USERNAME_ENV}/{PASSWORD_ENV})"
    if os.environ.get(TOKEN_ENV):
        return f"a bearer token ({TOKEN_ENV})"
    if user or password:
        missing = PASSWORD_ENV if user else USERNAME_ENV
        return f"no credentials: {missing} is empty, so {USERNAME_ENV}/{PASSWORD_ENV} are not sent"
    return f"no credentials ({USERNAME_ENV}/{PASSWORD_ENV} and {TOKEN_ENV} unset)"


def _auth_error(uri: str, code: str, message: str) -> TrackingAuthFailed | None:
    endpoint = re.search(r"endpoint (\S+)", message)
    where = f" on {endpoint.group(1)}" if endpoint else ""
    if code == "UNAUTHENTICATED":
        return TrackingAuthFailed(
            f"MLflow tracking server {uri} rejected authentication (HTTP 401{where}) with "
            f"{identity()}: set {USERNAME_ENV}/{PASSWORD_ENV} (secret mlflow-credentials) or "
            f"{TOKEN_ENV}"
        )
    if code == "PERMISSION_DENIED":
        return TrackingAuthFailed(
            f"MLflow tracking server {uri}: permission denied (HTTP 403{where}) for "
            f"{identity()}: authentication succeeded, but this user needs EDIT on the "
            "experiment and the registered model (ask an MLflow admin)"
        )
    return None


#: How often a writer sets the alias again after another writer inserted it first.
ALIAS_RACES = 5


def lost_alias_insert(exc: Exception) -> bool:
    """The store refused an alias insert because another writer inserted it first
    (PostgreSQL, MySQL and SQLite word it differently)."""
    text = str(exc).lower()
    return "registered_model_alias" in text and ("unique" in text or "duplicate" in text)


@dataclass(frozen=True)
class HttpSettings:
    retries: int
    backoff: int
    timeout: int

    def apply(self) -> None:
        """Hand the settings to MLflow's HTTP client (read on every request)."""
        os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(self.retries)
        os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = str(self.backoff)
        os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(self.timeout)


@contextmanager
def tracking_errors(uri: str, http: HttpSettings) -> Iterator[None]:
    """Turn MLflow/HTTP failures into one clear line naming the tracking URI (exit 1)."""
    import requests
    from mlflow.exceptions import MlflowException

    uri = mask(uri)
    try:
        yield
    except (MlflowException, requests.RequestException, ConnectionError) as exc:
        text = mask(str(exc).strip())
        auth = _auth_error(uri, getattr(exc, "error_code", ""), text)
        if auth is not None:
            raise auth from None  # the cause's text is already in the message, scrubbed
        first = text.splitlines()[0] if text else type(exc).__name__
        raise TrackingUnavailable(
            f"MLflow tracking server {uri} unreachable or refusing requests "
            f"(after {http.retries} retries, backoff factor {http.backoff}s): {first[:300]}"
        ) from None


class Tracker:
    """The MLflow side of one train attempt."""

    def __init__(self, uri: str, experiment: str, ctx: PachydermContext) -> None:
        import mlflow
        from mlflow.tracking import MlflowClient

        uri = split_userinfo(uri)  # a user:password@ goes into the Authorization header
        mlflow.set_tracking_uri(uri)
        self.uri = uri
        self.public_uri = mask(uri)  # what messages and run.json show
        self.ctx = ctx
        self.client: MlflowClient = MlflowClient(tracking_uri=uri)
        self.experiment_id = self._experiment(experiment)
        self.run_id: str | None = None

    def _experiment(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                self.client.restore_experiment(found.experiment_id)
            return found.experiment_id
        try:
            return self.client.create_experiment(name)
        except MlflowException:  # created concurrently by another datum/attempt
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def previous_run(self) -> Run | None:
        """This job + datum's run from an earlier attempt: the FINISHED one if any, else the
        newest unfinished one (RUNNING after a kill, FAILED after an error)."""
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=self.ctx.run_filter(),
            order_by=["attributes.start_time DESC"],
            max_results=20,
        )
        finished = [r for r in runs if r.info.status == "FINISHED"]
        if not (finished or runs):
            return None
        return (finished or runs)[0]

    def start(self, previous: Run | None, params: dict[str, Any]) -> str:
        """Resume `previous` (same run id) unless it was made with other params, in which
        case it is deleted and replaced: the job + datum keeps exactly one live run."""
        import mlflow

        str_params = {k: str(v) for k, v in params.items()}
        if previous is not None:
            clash = {
                k: (previous.data.params[k], v)
                for k, v in str_params.items()
                if k in previous.data.params and previous.data.params[k] != v
            }
            if clash:
                self.client.delete_run(previous.info.run_id)
                previous = None
        # start_run(run_id=...) refuses a run of another experiment than the process's
        # active one (left by an earlier caller in this process, or MLFLOW_EXPERIMENT_*).
        mlflow.set_experiment(experiment_id=self.experiment_id)
        if previous is not None:
            run = mlflow.start_run(run_id=previous.info.run_id)
            str_params = {k: v for k, v in str_params.items() if k not in previous.data.params}
        else:
            run = mlflow.start_run(
                experiment_id=self.experiment_id, run_name=self.ctx.run_name, tags=self.ctx.tags()
            )
        self.run_id = run.info.run_id
        mlflow.set_tags(self.ctx.tags())
        if str_params:
            mlflow.log_params(str_params)
        return self.run_id

    def log_inputs(self, schema: Any = None, read_from: dict[str, str] | None = None) -> None:
        from pachflow_train.datasets import dataset_inputs  # mlflow: imported here

        datasets = dataset_inputs(self.ctx, schema=schema, read_from=read_from)
        self.client.log_inputs(self._run(), datasets=datasets)

    def set_tags(self, tags: dict[str, str]) -> None:
        import mlflow

        mlflow.set_tags(tags)

    def log_metrics(self, metrics: dict[str, float]) -> None:
        import mlflow

        mlflow.log_metrics(metrics)

    def log_artifact(self, file: Path, folder: str) -> None:
        import mlflow

        mlflow.log_artifact(str(file), folder)

    def log_artifacts(self, folder: Path) -> None:
        import mlflow

        mlflow.log_artifacts(str(folder))

    def log_model(self, saved_dir: Path, input_example: Any, signature: Any) -> str:
        """Log the model train saved to `saved_dir` (OUTPUT_DIR/model) as the run's `model`
        (MLflow's spark flavor, built with MLflow's public API: saved_model) with explicit
        pip requirements (inferring them takes ~12 s); returns the model URI.

        One route for every Spark: the registry holds the very files the output commit
        publishes. (mlflow.spark.log_model would save the model through Spark a second
        time and load it back to predict the example, ~2.5 s in a cold JVM, which train
        has just done; a Connect client has no JVM for its copies at all.)"""
        import mlflow
        import pandas
        import pyarrow
        import pyspark

        from pachflow_train.saved_model import log_saved_model

        requirements = [
            f"mlflow-skinny=={mlflow.__version__}",
            f"pyspark=={pyspark.__version__}",
            f"pandas=={pandas.__version__}",
            f"pyarrow=={pyarrow.__version__}",
        ]
        log_saved_model(saved_dir, MODEL_ARTIFACT, signature, requirements, input_example)
        return f"runs:/{self._run()}/{MODEL_ARTIFACT}"

    def register(self, name: str, alias: str = CANDIDATE_ALIAS) -> tuple[RegisteredVersion, bool]:
        """One model version per run (a retry finds the one it made), with the pachyderm
        tags; True when this call created it. The alias is not moved here: that waits until
        the output naming this version is published (`point_alias_at_newest`)."""
        run_id = self._run()
        # register_model creates the registered model even when the artifact is missing,
        # then fails: check first so a half-logged run leaves no empty registered model.
        if not self.client.list_artifacts(run_id, MODEL_ARTIFACT):
            raise RuntimeError(f"run {run_id} has no {MODEL_ARTIFACT!r} artifact to register")
        existing = self.client.search_model_versions(f"name = '{name}' AND run_id = '{run_id}'")
        if existing:
            version = str(max(int(v.version) for v in existing))
            for key, value in self.ctx.tags().items():
                self.client.set_model_version_tag(name, version, key, value)
            return RegisteredVersion(name, version, alias), False
        import mlflow

        mv = mlflow.register_model(f"runs:/{run_id}/{MODEL_ARTIFACT}", name, tags=self.ctx.tags())
        return RegisteredVersion(name, str(mv.version), alias), True

    def unregister(self, registered: RegisteredVersion) -> None:
        """Undo `register` after a failure to publish: the FAILED run leaves no version."""
        self.client.delete_model_version(registered.name, registered.version)

    def point_alias_at_newest(self, name: str, alias: str) -> None:
        """Concurrent pipelines each register a version, then move the alias: setting it
        to "my version" lets a slow writer move it back to an older one. Each writer sets it
        to the newest version and re-checks until that still holds after its write, so the
        last writer to finish leaves it on the newest version. Two writers that set an alias
        the model does not have yet both insert it, and the store refuses one (a unique-key
        violation: nothing changed); that writer sets it again (seen in CI on PostgreSQL)."""
        from mlflow.exceptions import MlflowException

        races = 0
        while True:
            newest = self._newest_version(name)
            try:
                self.client.set_registered_model_alias(name, alias, newest)
            except MlflowException as exc:
                races += 1
                if races >= ALIAS_RACES or not lost_alias_insert(exc):
                    raise
                continue
            if self._newest_version(name) == newest:
                return

    def _newest_version(self, name: str) -> str:
        (newest,) = self.client.search_model_versions(
            f"name = '{name}'", max_results=1, order_by=["version_number DESC"]
        )
        return str(newest.version)

    def download_spark_model(self, run_id: str, dest: Path) -> None:
        """The fitted PipelineModel of a finished run, into `dest` (for a reused run)."""
        from mlflow.artifacts import download_artifacts

        tmp = dest.parent / f".{dest.name}-download"
        got = download_artifacts(
            run_id=run_id,
            artifact_path=f"{MODEL_ARTIFACT}/{SPARK_MODEL_SUBDIR}",
            dst_path=str(tmp),
            tracking_uri=self.uri,
        )
        Path(got).rename(dest)
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp)

    def download_file(self, run_id: str, artifact: str, dest: Path) -> bool:
        """One artifact file of a finished run into `dest`; False when the run has none
        (a run logged by an older train)."""
        parent = artifact.rpartition("/")[0] or None
        if artifact not in {a.path for a in self.client.list_artifacts(run_id, parent)}:
            return False
        from mlflow.artifacts import download_artifacts

        tmp = dest.parent / f".{dest.name}-download"
        got = download_artifacts(
            run_id=run_id, artifact_path=artifact, dst_path=str(tmp), tracking_uri=self.uri
        )
        Path(got).rename(dest)
        import shutil

        shutil.rmtree(tmp)
        return True

    def download_text(self, run_id: str, artifact: str) -> str:
        from mlflow.artifacts import load_text

        return load_text(f"runs:/{run_id}/{artifact}")

    def end(self, status: str) -> None:
        """End the active run with `status` (FINISHED or FAILED). Best effort for FAILED:
        when MLflow itself is what failed, the run cannot be updated."""
        import mlflow

        if mlflow.active_run() is None:
            return
        mlflow.end_run(status=status)

    def _run(self) -> str:
        if self.run_id is None:
            raise RuntimeError("no active run")
        return self.run_id
