"""`run.json`: train's output commit's link back to MLflow, written once (train) and read
by the provenance stage, `pachflow run`/`demo` and `pachflow reproduce`.

One typed, versioned record. `to_json` writes the bytes train has always written (key
order, 2-space indent, sorted metrics); `from_json` is the one reader: a file that is not
JSON, has a field of the wrong type or comes from a newer writer raises ManifestError
naming the file. Fields a reader does not need may be missing (older or hand-made files:
tests, a reproduction's copy); `run_id` may not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RUN_JSON = "run.json"
#: Where train saves the fitted Spark PipelineModel, next to run.json.
SPARK_MODEL_DIR = "model"
#: Bump when a field changes meaning or is removed (adding one is compatible).
MANIFEST_VERSION = 1


class ManifestError(ValueError):
    """A run.json that cannot be read as this version of the manifest (the message names
    the file and what was expected)."""


@dataclass(frozen=True)
class RegisteredVersion:
    """The model version train registered for the run, and the alias it points there."""

    name: str
    version: str
    alias: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class RunInput:
    """One input commit of the job: the /pfs/<name> folder, its repo and commit, and the
    datum's path (None when unknown)."""

    name: str
    repo: str
    commit: str
    path: str | None = None


@dataclass(frozen=True)
class RunManifest:
    run_id: str
    run_name: str = ""
    experiment_id: str = ""
    experiment_name: str = ""
    #: the tracking URI as train used it, credentials masked
    tracking_uri: str = ""
    model_uri: str = ""
    registered_model: RegisteredVersion | None = None
    spark_model_dir: str = SPARK_MODEL_DIR
    metrics: Mapping[str, float] = field(default_factory=dict)
    #: the held-out customers: assignment rule (a function of the customer alone) and the
    #: set's digest; how many they were is metrics.test_rows
    holdout: Mapping[str, str] = field(default_factory=dict)
    input_commits: tuple[RunInput, ...] = ()
    #: the run's `pachyderm.*` tags
    pachyderm: Mapping[str, str] = field(default_factory=dict)
    #: True when an earlier attempt of this job + datum had already finished the run
    reused_run: bool = False
    manifest_version: int = MANIFEST_VERSION

    def to_json(self) -> str:
        registered = self.registered_model
        data = {
            "manifest_version": self.manifest_version,
            "run_id": self.run_id,
            "run_name": self.run_name,
            "experiment_id": self.experiment_id,
            "experiment_name": self.experiment_name,
            "tracking_uri": self.tracking_uri,
            "model_uri": self.model_uri,
            "registered_model": None
            if registered is None
            else {
                "name": registered.name,
                "version": registered.version,
                "alias": registered.alias,
                "uri": registered.uri,
            },
            "spark_model_dir": self.spark_model_dir,
            "metrics": dict(sorted(self.metrics.items())),
            "holdout": dict(self.holdout),
            "input_commits": [
                {"name": i.name, "repo": i.repo, "commit": i.commit, "path": i.path}
                for i in self.input_commits
            ],
            "pachyderm": dict(self.pachyderm),
            "reused_run": self.reused_run,
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, source: str) -> RunManifest:
        """Read run.json's content; `source` names the file in every error."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ManifestError(f"{source}: not valid JSON ({exc})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("run_id"), str):
            raise ManifestError(f"{source}: expected a JSON object with a string 'run_id'")
        fields = _Fields(data, source)
        version = fields.integer("manifest_version", MANIFEST_VERSION)
        if version > MANIFEST_VERSION:
            raise ManifestError(
                f"{source}: manifest_version {version} is newer than this pachflow reads "
                f"(up to {MANIFEST_VERSION}): upgrade pachflow"
            )
        return cls(
            run_id=data["run_id"],
            run_name=fields.text("run_name"),
            experiment_id=fields.text("experiment_id"),
            experiment_name=fields.text("experiment_name"),
            tracking_uri=fields.text("tracking_uri"),
            model_uri=fields.text("model_uri"),
            registered_model=fields.registered(),
            spark_model_dir=fields.text("spark_model_dir") or SPARK_MODEL_DIR,
            metrics=fields.numbers("metrics"),
            holdout=fields.texts("holdout"),
            input_commits=fields.inputs(),
            pachyderm=fields.texts("pachyderm"),
            reused_run=fields.boolean("reused_run"),
            manifest_version=version,
        )


class _Fields:
    """Typed access to a parsed run.json: a present field of the wrong type is an error
    naming file and field; a missing one is its default."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.data = data
        self.source = source

    def _wrong(self, key: str, expected: str) -> ManifestError:
        return ManifestError(f"{self.source}: '{key}' must be {expected}")

    def integer(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, "an integer")
        return value

    def boolean(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false")
        return value

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise self._wrong(key, "a string")
        return str(value)

    def _object(self, key: str) -> dict[str, Any]:
        value = self.data.get(key) or {}
        if not isinstance(value, dict):
            raise self._wrong(key, "a JSON object")
        return value

    def numbers(self, key: str) -> dict[str, float]:
        found = self._object(key)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in found.values()):
            raise self._wrong(key, "an object of numbers")
        return found

    def texts(self, key: str) -> dict[str, str]:
        found = self._object(key)
        if not all(isinstance(v, str) for v in found.values()):
            raise self._wrong(key, "an object of strings")
        return found

    def registered(self) -> RegisteredVersion | None:
        """None when the run registered no model version (a run made outside the registry)."""
        found = self._object("registered_model")
        if not found:
            return None
        values = [found.get(k) for k in ("name", "version", "alias")]
        if not all(
            isinstance(v, (str, int)) and not isinstance(v, bool) and str(v) for v in values
        ):
            raise self._wrong(
                "registered_model", 'a model version as {"name": ..., "version": ..., "alias": ...}'
            )
        name, version, alias = (str(v) for v in values)
        return RegisteredVersion(name, version, alias)

    def inputs(self) -> tuple[RunInput, ...]:
        found = self.data.get("input_commits") or []
        expected = 'a list of {"name", "repo", "commit", "path"} objects'
        if not isinstance(found, list):
            raise self._wrong("input_commits", expected)
        result = []
        for item in found:
            if not isinstance(item, dict):
                raise self._wrong("input_commits", expected)
            name, repo, commit, path = (item.get(k) for k in ("name", "repo", "commit", "path"))
            if not (
                isinstance(name, str)
                and isinstance(repo, str)
                and isinstance(commit, str)
                and (path is None or isinstance(path, str))
            ):
                raise self._wrong("input_commits", expected)
            result.append(RunInput(name, repo, commit, path))
        return tuple(result)
