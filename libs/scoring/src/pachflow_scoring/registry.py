"""The model a scoring run uses: named `NAME@ALIAS` or `NAME/VERSION`, resolved in the MLflow
registry to one version, its training run and the decision threshold train recorded, then
its Spark model (the PipelineModel train logged: it scores raw feature columns) downloaded
and read with numpy when it is a tree model pachflow_features.saved_trees scores, loaded
into Spark otherwise."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pachflow_contracts.run_tags import TAG_SCORING
from pachflow_lineage.errors import LineageError, UnknownModelVersion, UnknownRun
from pachflow_lineage.subject import parse_model
from pachflow_lineage.tracking import Tracking
from pachflow_stagekit import BadInput, progress
from pachflow_stagekit.mlflow_access import mlflow_uris_kept

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel

    from pachflow_features.saved_trees import SavedTrees

MODEL_HELP = "NAME@ALIAS (e.g. pachflow-fraud-detector@candidate) or NAME/VERSION"
#: train's best-F1 threshold on its test part (a rounded score, pachflow_features.scores).
THRESHOLD_METRIC = "test_best_f1_threshold"
#: Where mlflow.spark puts the PipelineModel inside a logged model.
SPARK_MODEL_SUBDIR = "sparkml"


class ModelNotUsable(BadInput):
    """The model named does not exist, or cannot be loaded: exit 2 naming it."""


@dataclass(frozen=True)
class ScoringModel:
    """One registered model version, resolved: what every prediction records."""

    name: str
    version: str
    requested: str  # as the user named it: NAME@ALIAS or NAME/VERSION
    run_id: str
    threshold: float
    threshold_source: str  # the run metric, or "--threshold"
    tracking_uri: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"uri": self.uri}


def resolve_model(
    ref: str, tracking_uri: str | None = None, threshold: float | None = None
) -> ScoringModel:
    """Ask the registry which version `ref` names, and its run's decision threshold.

    ModelNotUsable (exit 2) for a malformed or unknown name, a version without a run or a
    run without the threshold (unless `threshold` is given); Unreachable (a LineageError)
    when MLflow cannot be asked.
    """
    try:
        named = parse_model(ref)  # the one parser of model names (pachflow_store.refs)
    except LineageError as exc:
        raise ModelNotUsable(f"--model {ref!r}: expected {MODEL_HELP}") from exc
    tracking = Tracking(tracking_uri)
    try:
        mv = tracking.get_model_version(named.name, named.version_or_alias)
    except UnknownModelVersion as exc:
        raise ModelNotUsable(f"model {ref}: {exc} (expected {MODEL_HELP} there)") from exc
    if not mv.run_id:
        raise ModelNotUsable(f"model {mv.name}/{mv.version} names no MLflow run")
    source = f"MLflow run metric {THRESHOLD_METRIC}"
    if threshold is None:
        try:
            metrics = tracking.get_run(mv.run_id).data.metrics
        except UnknownRun as exc:
            raise ModelNotUsable(f"model {mv.name}/{mv.version}: {exc}") from exc
        if THRESHOLD_METRIC not in metrics:
            raise ModelNotUsable(
                f"model {mv.name}/{mv.version}: its run {mv.run_id} has no metric "
                f"{THRESHOLD_METRIC} (not trained by pachflow-train?): pass --threshold"
            )
        threshold = float(metrics[THRESHOLD_METRIC])
    else:
        source = "--threshold"
    return ScoringModel(
        name=mv.name,
        version=mv.version,
        requested=ref,
        run_id=mv.run_id,
        threshold=threshold,
        threshold_source=source,
        tracking_uri=tracking.tracking_uri,
    )


def download_model(model: ScoringModel, dst: Path) -> Path:
    """The version's Spark model folder (`sparkml/`, as train logged it), downloaded into
    `dst` without Spark: ModelNotUsable when it cannot be downloaded or has none."""
    import mlflow
    from mlflow.artifacts import download_artifacts

    # MLflow 3.17 resolves a models:/ URI's run artifacts with a default client, which
    # ignores tracking_uri/registry_uri given here: without this, a process with no
    # MLFLOW_* set (a user's `pachflow score`) looks in ./mlflow.db and finds no model.
    with mlflow_uris_kept():
        mlflow.set_tracking_uri(model.tracking_uri)
        mlflow.set_registry_uri(model.tracking_uri)
        try:
            local = Path(
                download_artifacts(
                    artifact_uri=model.uri,
                    dst_path=str(dst),
                    tracking_uri=model.tracking_uri,
                    registry_uri=model.tracking_uri,
                )
            )
        except Exception as exc:  # MLflow and store errors alike: name the model
            raise ModelNotUsable(
                f"model {model.label} ({model.requested}) cannot be downloaded from "
                f"{model.tracking_uri}: {_first_line(exc)}"
            ) from exc
    spark_dir = local / SPARK_MODEL_SUBDIR
    if not spark_dir.is_dir():
        raise ModelNotUsable(
            f"model {model.label}: no {SPARK_MODEL_SUBDIR}/ in its artifacts (expected a "
            "Spark model logged by pachflow-train)"
        )
    return spark_dir


def load_trees(model: ScoringModel, spark_dir: Path) -> tuple[SavedTrees | None, str]:
    """The downloaded model as numpy scores it (pachflow_features.saved_trees: a decision
    tree or random forest), or None when only Spark scores it, with the reason."""
    from pachflow_features.saved_trees import SavedTrees

    try:
        trees = SavedTrees.load(spark_dir)
    except (NotImplementedError, ValueError) as exc:  # GBT, or not a tree model it reads
        return None, _first_line(exc)
    return trees, trees.classifier


def load_spark_model(model: ScoringModel, spark_dir: Path) -> PipelineModel:
    """The downloaded model as a Spark PipelineModel (Spark must be running)."""
    from pyspark.ml import PipelineModel

    try:
        # Spark reads the folder lazily in parts: load it fully before the folder goes.
        return PipelineModel.load(str(spark_dir))
    except Exception as exc:
        raise ModelNotUsable(
            f"model {model.label}: its Spark model cannot be loaded: {_first_line(exc)}"
        ) from exc


def record_use(model: ScoringModel, commit: str, value: str) -> None:
    """Tag the model version with the scoring commit that used it (one tag per commit, so
    concurrent datums and retries never lose each other's); best effort: scoring results
    do not depend on it, a refusal is said on stderr."""
    try:
        Tracking(model.tracking_uri).set_model_version_tags(
            model.name, model.version, {TAG_SCORING.format(commit=commit): value}
        )
    except Exception as exc:
        progress("score", f"could not tag {model.label} with scoring commit {commit}: {exc}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
