"""What `pachflow-train` does once its options are parsed: read etl's features, fit and
evaluate the model, and track it in MLflow (or reuse the run a retry already finished)."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pachflow_contracts import MODEL_INPUTS, ContractError
from pachflow_contracts.heldout_scores import HELDOUT_SCORES
from pachflow_contracts.heldout_scores import write as write_heldout
from pachflow_contracts.run_manifest import SPARK_MODEL_DIR, RegisteredVersion
from pachflow_contracts.run_tags import TAG_SAMPLE_RULE
from pachflow_spark import SparkSettings, is_connect, master_of, spark_progress
from pachflow_stagekit import as_bad_input, atomic_output, progress
from pachflow_train import arrow_data, data
from pachflow_train.classifier import ModelSettings
from pachflow_train.engine import ARROW, ARROW_MAX_BYTES, choose_engine, total_bytes
from pachflow_train.evaluate import Evaluation
from pachflow_train.mlflow_run import HttpSettings, Tracker, tracking_errors
from pachflow_train.run_link import run_manifest, write_link
from pachflow_train.spark_start import InBackground, SessionStart

STAGE = "train"
ARTIFACTS_TMP = ".mlflow-artifacts"  # inside the staging dir, removed before publishing
FIT_SAMPLE_DIR = "fit-sample"  # in the run's scratch folder: the fit's rows, for Spark


@dataclass(frozen=True)
class TrackingSettings:
    """Where the run is tracked and the model registered."""

    #: never MLflow's default (pachflow_stagekit.mlflow_access.required_tracking_uri)
    tracking_uri: str
    experiment: str
    registered_model: str
    http: HttpSettings
    #: s3a://bucket/prefix a Spark Connect server saves the model to for this process to
    #: log it (model_staging); None: the server writes OUTPUT_DIR/model itself
    model_staging: str | None = None


def execution_params(partitions: int | None, spark: SparkSettings) -> dict[str, str]:
    """How the fit was executed, logged next to the model settings: every setting that
    reaches train is in its MLflow run (a run whose numbers differ says why)."""
    return {
        "partitions": str(partitions) if partitions else "as read",
        "spark_master": spark.endpoint.public_url,  # no Connect token or password
        "spark_driver_memory": spark.driver_memory,
        "spark_shuffle_partitions": str(spark.shuffle_partitions or "one per core"),
    }


def train(
    input_dir: Path,
    output_dir: Path,
    settings: ModelSettings,
    tracking: TrackingSettings,
    spark_settings: SparkSettings,
    partitions: int | None = None,
    arrow_max_bytes: int = ARROW_MAX_BYTES,
) -> None:
    """Fit, evaluate and track; OUTPUT_DIR gets run.json, the run marker and model/.

    The data is held in this process (the Arrow engine: arrow_data) when the partials fit
    `arrow_max_bytes`, else in Spark (data); Spark MLlib fits the model either way."""
    # the fit's sample files and the model evaluated here; removed when the run ends
    with tempfile.TemporaryDirectory(prefix="pachflow-train-", ignore_cleanup_errors=True) as d:
        _train(
            input_dir,
            output_dir,
            settings,
            tracking,
            spark_settings,
            partitions,
            arrow_max_bytes,
            Path(d),
        )


def _train(
    input_dir: Path,
    output_dir: Path,
    settings: ModelSettings,
    tracking: TrackingSettings,
    spark_settings: SparkSettings,
    partitions: int | None,
    arrow_max_bytes: int,
    scratch: Path,
) -> None:
    """`train`, with a scratch folder that outlives the attempt."""
    http = tracking.http
    http.apply()
    experiment, registered_model = tracking.experiment, tracking.registered_model
    files = data.feature_files(input_dir)
    engine = choose_engine(total_bytes(files), arrow_max_bytes, settings.classifier)
    if engine.engine != ARROW:  # pyarrow reads object stores; a classic Spark may not
        data.check_input(input_dir, spark_settings)
        data.check_values(files)
    where = data.shown(input_dir)
    progress(STAGE, f"{len(files)} features file(s) under {where} match the contract")
    ctx = data.job_context(STAGE, input_dir, files)
    progress(STAGE, f"data in {engine.engine}: {engine.reason}")
    uri = tracking.tracking_uri
    starting = SessionStart("pachflow-train", spark_settings)  # boots while MLflow connects
    # ... and the Arrow engine reads the data meanwhile (pyarrow and numpy release the GIL)
    # (and draws the fit's sample: written as Parquet for a Spark that reads this machine)
    shares_files = reads_local_files(spark_settings, tracking.model_staging)
    sample_dir = scratch / FIT_SAMPLE_DIR if shares_files else None
    loading = (
        InBackground(lambda: _load(files, settings, partitions, sample_dir))
        if engine.engine == ARROW
        else None
    )
    try:
        with tracking_errors(uri, http):
            tracker = Tracker(uri, experiment, ctx)
            previous = tracker.previous_run()
    except BaseException as exc:
        starting.discard()
        if loading is not None and isinstance(exc, Exception):
            loading.result()  # a bad input file is named before an unreachable MLflow
        raise
    progress(
        STAGE, f"MLflow at {tracker.public_uri}: experiment {experiment} ({tracker.experiment_id})"
    )
    if previous is not None and previous.info.status == "FINISHED":
        starting.discard()
        progress(STAGE, f"run {previous.info.run_id} of {ctx.run_name} already finished: reusing")
        with tracking_errors(uri, http):
            _reuse(tracker, previous, output_dir, experiment, registered_model)
        return

    customers, df, sample = None, None, None
    if loading is not None:
        try:
            customers, survey, sample, seconds = loading.result()
        except BaseException:
            starting.discard()
            raise
        progress(STAGE, f"read and surveyed in {seconds:.1f}s (beside the JVM's boot)")
        progress(
            STAGE,
            f"drew the fit's {sample.rows} rows"
            + (f" (Parquet files for Spark in {sample_dir})" if sample.files else ""),
        )
    spark = starting.session()
    tags = spark_tags(spark_settings, spark)
    progress(STAGE, f"Spark: {spark_settings.endpoint.describe()} (master {tags[MASTER_TAG]})")
    if customers is None:
        with data.s3a_errors(input_dir, spark_settings):
            df = data.load_split(spark, files, settings.test_fraction, settings.seed, partitions)
    with spark_progress(spark, lambda line: progress(STAGE, line)):
        if df is not None:
            with data.s3a_errors(input_dir, spark_settings):
                survey = data.survey(df)
        counts = survey.counts
        progress(
            STAGE,
            f"{counts.rows} customers, {counts.positives} fraud; "
            f"test part {counts.test_pos + counts.test_neg} customers (by customer: "
            f"{data.holdout_rule(settings.test_fraction, settings.seed)}; "
            f"set digest {counts.test_digest})",
        )
        data.check_learnable(counts, where, settings.test_fraction)
        with tracking_errors(uri, http):
            params = {**settings.params(), **execution_params(partitions, spark_settings)}
            run_id = tracker.start(previous, params)
            tracker.set_tags(tags)
            progress(
                STAGE,
                f"MLflow run {run_id} ({ctx.run_name}) in {experiment} at {tracker.public_uri}",
            )
            try:
                read_from = data.object_store_inputs(input_dir)
                attempt = Attempt(
                    tracker,
                    spark,
                    files,
                    df,
                    customers,
                    survey,
                    read_from,
                    scratch,
                    sample,
                    partitions,
                )
                _train_and_log(attempt, settings, output_dir, tracking)
            except BaseException:
                _end_failed(tracker)
                raise


def _load(
    files: list[Path | str],
    settings: ModelSettings,
    partitions: int | None,
    sample_dir: Path | None,
) -> tuple[arrow_data.Customers, data.Survey, arrow_data.FitSample, float]:
    """The Arrow engine's customers, their survey and the fit's sample (written into
    `sample_dir` when given), and the seconds the read and survey took."""
    started = time.monotonic()
    with as_bad_input(ContractError):  # values are checked as they are read
        customers = arrow_data.load_split(files, settings.test_fraction, settings.seed)
    survey = arrow_data.survey(customers)
    seconds = time.monotonic() - started
    sample = arrow_data.fit_sample(
        customers,
        survey.counts,
        settings.class_weight,
        settings.negative_fraction,
        settings.seed,
        partitions,
    )
    if sample_dir is not None:
        sample = arrow_data.written(sample, sample_dir)
    return customers, survey, sample, seconds


def reads_local_files(spark_settings: SparkSettings, model_staging: str | None) -> bool:
    """Whether the Spark that fits reads this machine's files (the fit's sample is then
    handed over as Parquet files, arrow_data.written): an in-process `local[N]` master,
    or a cluster or Spark Connect server on loopback that also saves the model here (no
    --model-staging). Else the rows cross as Arrow (to a Connect server, an upload)."""
    endpoint = spark_settings.endpoint
    return endpoint.on_this_machine and not (endpoint.is_connect and model_staging)


ENDPOINT_TAG = "spark.endpoint"
MASTER_TAG = "spark.master"


def spark_tags(spark_settings: SparkSettings, spark: Any) -> dict[str, str]:
    """Which Spark the run used, as MLflow tags (not params: the same model trained through
    another endpoint, e.g. a new port of a shared server, is the same run): the endpoint
    without credentials, and the master the work ran on (a Connect server's own)."""
    return {
        ENDPOINT_TAG: spark_settings.endpoint.public_url,
        MASTER_TAG: master_of(spark),
    }


@dataclass(frozen=True)
class Attempt:
    """One training attempt's open handles: its MLflow run, its Spark session, the split
    features it fits and evaluates on (in Spark: `df`, read from the files on each pass;
    or in this process: `customers`, the Arrow engine) and what the first pass found."""

    tracker: Tracker
    spark: Any
    files: list[Path | str]
    df: Any  # data.prepare'd DataFrame, or None on the Arrow engine
    customers: arrow_data.Customers | None
    survey: data.Survey
    read_from: dict[str, str]  # {input name: the object-store URL it was read from}
    scratch: Path  # removed when the run ends
    sample: arrow_data.FitSample | None = None  # the fit's rows (Arrow engine)
    partitions: int | None = None

    @property
    def counts(self) -> data.ClassCounts:
        return self.survey.counts


@dataclass(frozen=True)
class Fitted:
    """The fitted model and everything measured about it."""

    model: Any  # the PipelineModel
    evaluations: dict[str, Evaluation]  # "train", "test"
    importances: dict[str, float]
    metrics: dict[str, float]  # what the MLflow run logs
    holdout: dict[str, str]
    heldout_scores: Any  # pyarrow Table: each held-out customer's score (HELDOUT_SCORES)
    saved: Path | None = None  # the model as saved to evaluate it here (Arrow engine)


def _train_and_log(
    attempt: Attempt, settings: ModelSettings, output_dir: Path, tracking: TrackingSettings
) -> None:
    """Fit and evaluate, then publish OUTPUT_DIR and log the run; the alias moves only
    once both are done (_publishing_then_alias)."""
    tracker = attempt.tracker
    tracker.log_inputs(schema=features_mlflow_schema(), read_from=attempt.read_from)
    _tag_perfect_separators(attempt)
    fitted = _fit_and_evaluate(attempt, settings, attempt.scratch, tracking.model_staging)
    _log_and_publish(attempt, fitted, output_dir, tracking)


def _log_and_publish(
    attempt: Attempt, fitted: Fitted, output_dir: Path, tracking: TrackingSettings
) -> None:
    """Log the run's metrics, files and model and publish OUTPUT_DIR; the alias moves only
    once both are done (_publishing_then_alias)."""
    tracker = attempt.tracker
    tracker.set_tags(data.holdout_tags(fitted.holdout))
    with (
        _publishing_then_alias(tracker, tracking.registered_model) as register,
        atomic_output(output_dir) as staging,
    ):
        t_log = time.monotonic()
        tracker.log_metrics(fitted.metrics)
        heldout_s = _log_heldout_scores(attempt, fitted, staging)
        _log_reports(attempt, fitted, staging / ARTIFACTS_TMP)
        t_model = time.monotonic()
        model_uri = _save_and_log_model(attempt, fitted, staging, tracking.model_staging)
        model_s = time.monotonic() - t_model
        registered = register()
        progress(
            STAGE,
            f"logged in {time.monotonic() - t_log:.1f}s (model {model_s:.1f}s, held-out "
            f"scores {heldout_s:.1f}s); registered {registered.uri}",
        )
        write_link(
            staging,
            run_manifest(
                run_id=tracker.run_id or "",
                run_name=tracker.ctx.run_name,
                experiment_id=tracker.experiment_id,
                experiment_name=tracking.experiment,
                tracking_uri=tracker.public_uri,
                model_uri=model_uri,
                registered=registered,
                metrics=fitted.metrics,
                ctx=tracker.ctx,
                reused_run=False,
                holdout=fitted.holdout,
            ),
        )
    tracker.end("FINISHED")
    progress(STAGE, f"wrote run.json, {tracker.run_id} and {SPARK_MODEL_DIR}/ to {output_dir}")


def _tag_perfect_separators(attempt: Attempt) -> None:
    """A feature that alone separates the classes is a leak more often than a find: say so."""
    from pachflow_train import leakage

    separators = leakage.perfect_separators(attempt.survey.train_ranges)
    if separators:
        progress(STAGE, leakage.warning(separators))
        attempt.tracker.set_tags({leakage.TAG: ",".join(separators)})


def _fit_and_evaluate(
    attempt: Attempt, settings: ModelSettings, scratch: Path, model_staging: str | None
) -> Fitted:
    """Fit on the training sample, then score every customer: in Spark, or on the Arrow
    engine here, from the model saved into `scratch` (then logged from there)."""
    from pachflow_train import classifier

    counts, customers = attempt.counts, attempt.customers
    if attempt.sample is not None:
        train = arrow_data.training_rows(attempt.spark, attempt.sample, attempt.partitions)
    else:
        train = data.training_rows(
            attempt.df, counts, settings.class_weight, settings.negative_fraction, settings.seed
        )
    rule = data.sample_rule(train.negative_share, settings.seed)
    attempt.tracker.set_tags({TAG_SAMPLE_RULE: rule})
    t0 = time.monotonic()
    try:
        fitted = classifier.fit(train.rows, settings)
    finally:
        train.rows.unpersist()
    fit_s = time.monotonic() - t0
    progress(
        STAGE,
        f"fitted {settings.classifier} in {fit_s:.1f}s on all {counts.train_pos} fraud rows "
        f"and {train.negative_share:.0%} of {counts.train_neg} others "
        f"(weights {train.positive_weight:g} / {train.negative_weight:g})",
    )
    t0 = time.monotonic()
    saved = None
    if customers is not None:
        saved = scratch / SPARK_MODEL_DIR
        _save_model(attempt, fitted, saved, model_staging)
        evaluated = arrow_data.evaluate(saved, customers)
    else:
        evaluated = classifier.evaluate(fitted, attempt.df)
    parts = evaluated.parts
    importances = classifier.feature_importances(fitted)
    eval_s = time.monotonic() - t0
    test = parts["test"]
    progress(
        STAGE,
        f"evaluated in {eval_s:.1f}s: test areaUnderPR {test.area_under_pr:.4f}, "
        f"areaUnderROC {test.area_under_roc:.4f}, best F1 {test.at_best_f1.f1:.4f}",
    )
    metrics = test.metrics("test") | parts["train"].metrics("train")
    metrics |= {f"importance.{k}": v for k, v in importances.items()}
    metrics |= {
        "positive_weight": train.positive_weight,
        "negative_share": train.negative_share,
        "negative_weight": train.negative_weight,
        "fit_seconds": fit_s,
        "evaluate_seconds": eval_s,
    }
    holdout = data.holdout_record(counts, settings.test_fraction, settings.seed)
    return Fitted(fitted, parts, importances, metrics, holdout, evaluated.heldout, saved)


def _log_heldout_scores(attempt: Attempt, fitted: Fitted, staging: Path) -> float:
    """One score per held-out customer (scored by the evaluation), in OUTPUT_DIR and in
    MLflow (what `lineage diff` compares two versions on); returns the seconds it took."""
    t0 = time.monotonic()
    heldout_file = staging / HELDOUT_SCORES
    heldout_file.parent.mkdir(parents=True)
    write_heldout(fitted.heldout_scores, str(heldout_file))
    seconds = time.monotonic() - t0
    attempt.tracker.log_artifact(heldout_file, heldout_file.parent.name)
    return seconds


def _log_reports(attempt: Attempt, fitted: Fitted, arts: Path) -> None:
    """The pictures and files a person reads on the run's page (not published)."""
    from pachflow_train import classifier, plots

    arts.mkdir()
    test = fitted.evaluations["test"]
    plots.confusion_png(test, arts / "confusion_matrix.png")
    plots.importance_png(fitted.importances, arts / "feature_importance.png")
    (arts / "tree.txt").write_text(classifier.tree_text(fitted.model))
    report = {
        "test": test.to_dict(),
        "train": fitted.evaluations["train"].to_dict(),
        "feature_importances": fitted.importances,
        "class_counts": attempt.counts.__dict__,
    }
    (arts / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    attempt.tracker.log_artifacts(arts)
    shutil.rmtree(arts)


def _save_and_log_model(
    attempt: Attempt, fitted: Fitted, staging: Path, model_staging: str | None
) -> str:
    """The PipelineModel into OUTPUT_DIR/model and into MLflow with its input example and
    signature; returns the logged model's URI."""
    from mlflow.models import infer_signature

    spark, model = attempt.spark, fitted.model
    example_df = spark.createDataFrame(data.example_rows(attempt.files))
    sample: Any = model.transform(example_df).select(*MODEL_INPUTS, "prediction").toPandas()
    example = sample[list(MODEL_INPUTS)]
    with warnings.catch_warnings():
        # The contract makes every input non-null, so MLflow's "integer columns
        # cannot hold missing values" hint does not apply.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = infer_signature(example, sample["prediction"])
    local = staging / SPARK_MODEL_DIR
    if fitted.saved is not None:  # saved to be evaluated: the same files
        shutil.copytree(fitted.saved, local)
    else:
        _save_model(attempt, model, local, model_staging)
    return attempt.tracker.log_model(local, example, signature)


def _save_model(attempt: Attempt, model: Any, local: Path, model_staging: str | None) -> None:
    """The PipelineModel's files into `local`."""
    if is_connect(attempt.spark) and model_staging:
        _save_through_staging(attempt, model, local, model_staging)
    else:  # on a Connect session: the server writes `local`, a directory it must share
        model.write().save(str(local))


def _save_through_staging(attempt: Attempt, model: Any, local: Path, url: str) -> None:
    """The Connect server saves the model to the shared store (`url`/<run id>/sparkml),
    this process copies it down to `local` (what it logs and publishes) and removes the
    run's staging prefix (model_staging)."""
    from pachflow_train import model_staging
    from pachflow_train.saved_model import MODEL_DATA

    access = model_staging.staging_access()
    prefix = model_staging.run_prefix(url, attempt.tracker.run_id or "")  # started by now
    try:
        model_staging.save_on_server(model, attempt.spark, f"{prefix}/{MODEL_DATA}", access)
        model_staging.copy_down(f"{prefix}/{MODEL_DATA}", local, access)
        progress(STAGE, f"the server saved the model to {prefix}/{MODEL_DATA}: copied down")
    finally:
        try:
            model_staging.remove(prefix, access)
        except OSError as exc:  # the model is here (or the save's error matters more)
            progress(STAGE, f"could not remove {prefix}: {exc}")


@contextmanager
def _publishing_then_alias(tracker: Tracker, registered_model: str) -> Iterator[Any]:
    """Registration around publishing OUTPUT_DIR: the body registers (through the callable
    it gets) and publishes; only then does the alias move. If anything fails first (an
    existing, read-only or full OUTPUT_DIR), a version this attempt created is deleted
    again, so neither the alias nor any version points at a FAILED run's model."""
    made: list[RegisteredVersion] = []  # by this attempt (undone on failure)
    named: list[RegisteredVersion] = []  # what the output names

    def register() -> RegisteredVersion:
        registered, created = tracker.register(registered_model)
        named.append(registered)
        if created:
            made.append(registered)
        return registered

    try:
        yield register
    except BaseException:
        for registered in made:
            try:
                tracker.unregister(registered)
                progress(STAGE, f"output not published: deleted {registered.uri} again")
            except Exception as exc:  # the original error matters more than this one
                progress(STAGE, f"could not delete {registered.uri} after the failure: {exc}")
        raise
    for registered in named[-1:]:
        tracker.point_alias_at_newest(registered.name, registered.alias)
        progress(STAGE, f"output published; alias {registered.alias} moved to the newest version")


def _reuse(
    tracker: Tracker, run: Any, output_dir: Path, experiment: str, registered_model: str
) -> None:
    """An earlier attempt finished the run: rebuild OUTPUT_DIR from MLflow, train nothing."""
    run_id = run.info.run_id
    tracker.run_id = run_id
    with _publishing_then_alias(tracker, registered_model) as register:
        registered = register()
        with atomic_output(output_dir) as staging:
            tracker.download_spark_model(run_id, staging / SPARK_MODEL_DIR)
            (staging / HELDOUT_SCORES).parent.mkdir(parents=True)
            if not tracker.download_file(run_id, HELDOUT_SCORES, staging / HELDOUT_SCORES):
                (staging / HELDOUT_SCORES).parent.rmdir()
            write_link(
                staging,
                run_manifest(
                    run_id=run_id,
                    run_name=run.info.run_name,
                    experiment_id=tracker.experiment_id,
                    experiment_name=experiment,
                    tracking_uri=tracker.public_uri,
                    model_uri=f"runs:/{run_id}/model",
                    registered=registered,
                    metrics=dict(run.data.metrics),
                    ctx=tracker.ctx,
                    reused_run=True,
                    holdout=data.holdout_of_tags(dict(run.data.tags)),
                ),
            )


def _end_failed(tracker: Tracker) -> None:
    """Leave the run FAILED, not RUNNING; if MLflow is what failed, say so and move on."""
    try:
        tracker.end("FAILED")
    except Exception as exc:  # the original error matters more than this one
        progress(STAGE, f"could not mark run {tracker.run_id} FAILED: {exc}")


def features_mlflow_schema() -> Any:
    """The features contract as an MLflow schema, stored with each dataset input."""
    import pyarrow as pa
    from mlflow.types import ColSpec, DataType, Schema

    from pachflow_contracts import FEATURES

    kinds = {
        pa.int64(): DataType.long,
        pa.int32(): DataType.integer,
        pa.float64(): DataType.double,
        pa.string(): DataType.string,
    }
    return Schema([ColSpec(kinds[f.type], f.name) for f in FEATURES.schema])
