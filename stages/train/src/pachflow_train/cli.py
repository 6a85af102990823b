"""`pachflow-train INPUT_DIR OUTPUT_DIR`: fit, evaluate and track the fraud model."""

from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import click

from pachflow_provenance.context import PachydermContext
from pachflow_spark import (
    JavaMissing,
    SparkSettings,
    build_session,
    spark_options,
    spark_progress,
)
from pachflow_stagekit import atomic_output, progress
from pachflow_train import data
from pachflow_train.manifest import MODEL_DIR, run_manifest, write_link
from pachflow_train.model import CLASSIFIERS, IMPURITIES, ModelSettings
from pachflow_train.tracking import CANDIDATE_ALIAS, HttpSettings, Tracker, tracking_errors

STAGE = "train"
DEFAULT_EXPERIMENT = "pachflow-fraud"
DEFAULT_REGISTERED_MODEL = "pachflow-fraud-detector"
ARTIFACTS_TMP = ".mlflow-artifacts"  # inside the staging dir, removed before publishing


def _class_weight(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value in ("none", "balanced"):
        return value
    try:
        if float(value) > 0:
            return value
    except ValueError:
        pass
    raise click.BadParameter(f"expected none, balanced or a positive number, found {value!r}")


HELP = """Fit the fraud classifier on etl's customer features and track it in MLflow.

\b
Reads:  every *.parquet under INPUT_DIR (features contract v1, e.g. /pfs/etl).
Writes: OUTPUT_DIR/<run_id>   empty marker named after the MLflow run
        OUTPUT_DIR/run.json   run id, experiment, tracking URI, model URI, registered
                              model version, metrics, input commits
        OUTPUT_DIR/model/     the fitted Spark PipelineModel (scores without MLflow)

Inside a Pachyderm worker the job context (PACH_JOB_ID, PACH_DATUM_ID, <input>_COMMIT, ...)
becomes pachyderm.* tags and dataset inputs of the run; a retry of the same job + datum
reuses or resumes its run. Exit 0 ok, 2 bad input (schema, unlearnable data, usage),
1 anything else (e.g. MLflow unreachable after the retries; OUTPUT_DIR is then empty).
"""


@click.command(help=HELP, context_settings={"max_content_width": 100})
@click.argument("input_dir", type=click.Path(path_type=Path))
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--classifier",
    type=click.Choice(CLASSIFIERS),
    default="decision_tree",
    envvar="PACHFLOW_TRAIN_CLASSIFIER",
    show_default=True,
)
@click.option(
    "--max-depth",
    type=click.IntRange(1, 30),
    default=5,
    show_default=True,
    envvar="PACHFLOW_TRAIN_MAX_DEPTH",
)
@click.option(
    "--max-bins",
    type=click.IntRange(2),
    default=32,
    show_default=True,
    envvar="PACHFLOW_TRAIN_MAX_BINS",
    help="Bins per continuous feature for splits.",
)
@click.option(
    "--min-instances-per-node",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    envvar="PACHFLOW_TRAIN_MIN_INSTANCES_PER_NODE",
)
@click.option(
    "--impurity",
    type=click.Choice(IMPURITIES),
    default="gini",
    show_default=True,
    envvar="PACHFLOW_TRAIN_IMPURITY",
    help="Ignored by gbt.",
)
@click.option(
    "--num-trees",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    envvar="PACHFLOW_TRAIN_NUM_TREES",
    help="random_forest only.",
)
@click.option(
    "--max-iter",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    envvar="PACHFLOW_TRAIN_MAX_ITER",
    help="gbt only: boosting rounds.",
)
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    envvar="PACHFLOW_TRAIN_SEED",
    help="Seeds the split and the classifier.",
)
@click.option(
    "--test-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.2,
    show_default=True,
    envvar="PACHFLOW_TRAIN_TEST_FRACTION",
    help="Share of customers held out, drawn per class (stratified).",
)
@click.option(
    "--class-weight",
    default="none",
    show_default=True,
    callback=_class_weight,
    envvar="PACHFLOW_TRAIN_CLASS_WEIGHT",
    help="Instance weight of fraud rows: none, balanced (negatives/positives of the "
    "training part) or a number.",
)
@click.option(
    "--negative-fraction",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.1,
    show_default=True,
    envvar="PACHFLOW_TRAIN_NEGATIVE_FRACTION",
    help="Share of the non-fraud training rows to fit on: a seeded sample, each row "
    f"weighted 1/share so the model stays calibrated; never fewer than "
    f"{data.MIN_SAMPLED_NEGATIVES:,} rows (smaller data trains on all). 1 = all rows. "
    "Evaluation always scores every row.",
)
@click.option(
    "--partitions",
    type=click.IntRange(1),
    default=None,
    envvar="PACHFLOW_TRAIN_PARTITIONS",
    help="Repartition the cached data to N partitions [default: as read, one per Parquet split].",
)
@click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    default=None,
    help="MLflow tracking URI [env MLFLOW_TRACKING_URI; default: MLflow's own].",
)
@click.option(
    "--experiment", envvar="PACHFLOW_EXPERIMENT", default=DEFAULT_EXPERIMENT, show_default=True
)
@click.option(
    "--registered-model",
    envvar="PACHFLOW_REGISTERED_MODEL",
    default=DEFAULT_REGISTERED_MODEL,
    show_default=True,
    help=f"Registered model that gets a version (alias {CANDIDATE_ALIAS!r}).",
)
@click.option(
    "--mlflow-retries",
    type=click.IntRange(0, 10),
    default=3,
    show_default=True,
    envvar="PACHFLOW_MLFLOW_RETRIES",
    help="Retries per MLflow request (sets MLFLOW_HTTP_REQUEST_MAX_RETRIES).",
)
@click.option(
    "--mlflow-backoff",
    type=click.IntRange(0, 60),
    default=1,
    show_default=True,
    envvar="PACHFLOW_MLFLOW_BACKOFF",
    help="Backoff factor in s, doubling per retry (MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR).",
)
@click.option(
    "--mlflow-timeout",
    type=click.IntRange(1),
    default=60,
    show_default=True,
    envvar="PACHFLOW_MLFLOW_TIMEOUT",
    help="Seconds per MLflow request (MLFLOW_HTTP_REQUEST_TIMEOUT).",
)
@spark_options
def main(
    input_dir: Path,
    output_dir: Path,
    tracking_uri: str | None,
    experiment: str,
    registered_model: str,
    mlflow_retries: int,
    mlflow_backoff: int,
    mlflow_timeout: int,
    partitions: int | None,
    spark_settings: SparkSettings,
    **model_options: Any,
) -> None:
    settings = ModelSettings(**model_options)
    http = HttpSettings(mlflow_retries, mlflow_backoff, mlflow_timeout)
    http.apply()
    files = data.feature_files(input_dir)
    progress(STAGE, f"{len(files)} features file(s) under {input_dir} match the contract")
    ctx = PachydermContext.from_env(
        default_pipeline=STAGE, local_inputs={input_dir.resolve().name: input_dir}
    )
    import mlflow

    uri = tracking_uri or mlflow.get_tracking_uri()
    with tracking_errors(uri, http):
        tracker = Tracker(uri, experiment, ctx)
        previous = tracker.previous_run()
    progress(STAGE, f"MLflow at {uri}: experiment {experiment} ({tracker.experiment_id})")
    if previous is not None and previous.info.status == "FINISHED":
        progress(STAGE, f"run {previous.info.run_id} of {ctx.run_name} already finished: reusing")
        with tracking_errors(uri, http):
            _reuse(tracker, previous, output_dir, experiment, registered_model)
        return

    try:
        spark = build_session("pachflow-train", spark_settings)
    except JavaMissing as exc:
        raise click.ClickException(str(exc)) from exc
    df = data.load_split(spark, files, settings.test_fraction, settings.seed, partitions)
    with spark_progress(spark, lambda line: progress(STAGE, line)):
        try:
            counts = data.class_counts(df)
            progress(
                STAGE,
                f"{counts.rows} customers, {counts.positives} fraud; "
                f"test part {counts.test_pos + counts.test_neg}",
            )
            data.check_learnable(counts, str(input_dir), settings.test_fraction)
            with tracking_errors(uri, http):
                run_id = tracker.start(previous, settings.params())
                progress(STAGE, f"MLflow run {run_id} ({ctx.run_name}) in {experiment} at {uri}")
                try:
                    _train_and_log(
                        tracker,
                        spark,
                        files,
                        df,
                        counts,
                        settings,
                        output_dir,
                        experiment,
                        registered_model,
                    )
                except BaseException:
                    _end_failed(tracker)
                    raise
        finally:
            df.unpersist()


def _train_and_log(
    tracker: Tracker,
    spark: Any,
    files: list[Path],
    df: Any,
    counts: data.ClassCounts,
    settings: ModelSettings,
    output_dir: Path,
    experiment: str,
    registered_model: str,
) -> None:
    from pachflow_train import model as m
    from pachflow_train import plots

    tracker.log_inputs(schema=features_mlflow_schema())
    train = data.training_rows(
        df, counts, settings.class_weight, settings.negative_fraction, settings.seed
    )
    t0 = time.monotonic()
    fitted = m.fit(train.rows, settings)
    fit_s = time.monotonic() - t0
    progress(
        STAGE,
        f"fitted {settings.classifier} in {fit_s:.1f}s on all {counts.train_pos} fraud rows "
        f"and {train.negative_share:.0%} of {counts.train_neg} others "
        f"(weights {train.positive_weight:g} / {train.negative_weight:g})",
    )
    t0 = time.monotonic()
    parts = m.evaluate_parts(fitted, df)
    importances = m.feature_importances(fitted)
    eval_s = time.monotonic() - t0
    test = parts["test"]
    progress(
        STAGE,
        f"evaluated in {eval_s:.1f}s: test areaUnderPR {test.area_under_pr:.4f}, "
        f"areaUnderROC {test.area_under_roc:.4f}, best F1 {test.at_best_f1.f1:.4f}",
    )
    metrics = parts["test"].metrics("test") | parts["train"].metrics("train")
    metrics |= {f"importance.{k}": v for k, v in importances.items()}
    metrics |= {
        "positive_weight": train.positive_weight,
        "negative_share": train.negative_share,
        "negative_weight": train.negative_weight,
        "fit_seconds": fit_s,
        "evaluate_seconds": eval_s,
    }

    with atomic_output(output_dir) as staging:
        arts = staging / ARTIFACTS_TMP
        arts.mkdir()
        plots.confusion_png(test, arts / "confusion_matrix.png")
        plots.importance_png(importances, arts / "feature_importance.png")
        (arts / "tree.txt").write_text(m.tree_text(fitted))
        (arts / "metrics.json").write_text(
            json.dumps(
                {
                    "test": test.to_dict(),
                    "train": parts["train"].to_dict(),
                    "feature_importances": importances,
                    "class_counts": counts.__dict__,
                },
                indent=2,
            )
            + "\n"
        )
        t_log = time.monotonic()
        tracker.log_metrics(metrics)
        tracker.log_artifacts(arts)
        shutil.rmtree(arts)
        example_df = spark.createDataFrame(data.example_rows(files))
        sample = fitted.transform(example_df).select(*m.MODEL_INPUTS, "prediction").toPandas()
        from mlflow.models import infer_signature

        example = sample[list(m.MODEL_INPUTS)]
        with warnings.catch_warnings():
            # The contract makes every input non-null, so MLflow's "integer columns cannot
            # hold missing values" hint does not apply.
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            signature = infer_signature(example, sample["prediction"])
        t_model = time.monotonic()
        model_uri = tracker.log_model(fitted, example, signature)
        model_s = time.monotonic() - t_model
        registered = tracker.register(registered_model)
        progress(
            STAGE,
            f"logged in {time.monotonic() - t_log:.1f}s (model {model_s:.1f}s); "
            f"registered {registered.uri} (alias {registered.alias})",
        )
        fitted.write().save(str(staging / MODEL_DIR))
        write_link(
            staging,
            run_manifest(
                run_id=tracker.run_id or "",
                run_name=tracker.ctx.run_name,
                experiment_id=tracker.experiment_id,
                experiment_name=experiment,
                tracking_uri=tracker.uri,
                model_uri=model_uri,
                registered=registered,
                metrics=metrics,
                ctx=tracker.ctx,
                reused_run=False,
            ),
        )
    tracker.end("FINISHED")
    progress(STAGE, f"wrote run.json, {tracker.run_id} and {MODEL_DIR}/ to {output_dir}")


def _reuse(
    tracker: Tracker, run: Any, output_dir: Path, experiment: str, registered_model: str
) -> None:
    """An earlier attempt finished the run: rebuild OUTPUT_DIR from MLflow, train nothing."""
    run_id = run.info.run_id
    tracker.run_id = run_id
    registered = tracker.register(registered_model)
    with atomic_output(output_dir) as staging:
        tracker.download_spark_model(run_id, staging / MODEL_DIR)
        write_link(
            staging,
            run_manifest(
                run_id=run_id,
                run_name=run.info.run_name,
                experiment_id=tracker.experiment_id,
                experiment_name=experiment,
                tracking_uri=tracker.uri,
                model_uri=f"runs:/{run_id}/model",
                registered=registered,
                metrics=dict(run.data.metrics),
                ctx=tracker.ctx,
                reused_run=True,
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
