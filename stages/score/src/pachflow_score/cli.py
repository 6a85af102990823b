"""`pachflow-score [OPTIONS] INPUT_DIR OUTPUT_DIR`: fraud scores of PaySim transactions by a
registered model, each file's predictions next to the record of what made them."""

from __future__ import annotations

from pathlib import Path

import click

from pachflow_contracts.worker_context import PachydermContext
from pachflow_lineage.errors import LineageError
from pachflow_paysim.reader import DEFAULT_BLOCK_MB, MAX_BLOCK_MB, SUFFIXES
from pachflow_scoring import (
    MODEL_HELP,
    Scorer,
    resolve_model,
    scoring_record,
    write_scored,
)
from pachflow_scoring.registry import record_use
from pachflow_spark import SparkSettings, spark_options
from pachflow_stagekit import atomic_fresh_output, find_files, progress
from pachflow_stagekit.mlflow_access import required_tracking_uri
from pachflow_stagekit.options import env_options, threshold_option, tracking_uri_option

STAGE = "score"
#: score's options each read PACHFLOW_SCORE_<OPTION> (--block-mb: PACHFLOW_SCORE_BLOCK_MB).
ENV_PREFIX = "PACHFLOW_SCORE"
option = env_options(ENV_PREFIX)

HELP = f"""Score PaySim transactions with a model from the MLflow registry.

\b
Reads:  every .csv / .csv.gz under INPUT_DIR (PaySim1 header and values, checked as split
        checks them), e.g. /pfs/transactions.
Writes: OUTPUT_DIR/<file name>/predictions.parquet  one row per customer (contract
            predictions v1): fraud_score, flagged (score >= the model's threshold), the
            file's label, model name and version
        OUTPUT_DIR/<file name>/scoring.json  the model version, its MLflow run and
            threshold, the input commit(s), counts

The features are per customer, as the model was trained (the same code computes them), so
each customer of a file gets one score over all of their transactions in it. --model is
{MODEL_HELP}; the threshold is the one train recorded as best (its run's metric
test_best_f1_threshold) unless --threshold is given. A decision tree or random forest is
scored with numpy (no JVM starts), any other model (GBT) or --spark-only in Spark. Inside
a Pachyderm worker the model version gets a tag pachyderm.scoring.<output commit> naming
this scoring commit.
Exit 0 ok, 2 bad input (file:line of a bad value; an unknown or unloadable model), 1
anything else (e.g. MLflow unreachable); nothing is written unless every file scored.
"""


@click.command(help=HELP, context_settings={"max_content_width": 100})
@click.argument("input_dir", type=click.Path(path_type=Path))
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@option("--model", "model_ref", required=True, help=f"{MODEL_HELP}.")
@threshold_option(envvar=f"{ENV_PREFIX}_THRESHOLD")
@tracking_uri_option()
@option(
    "--block-mb",
    type=click.IntRange(1, MAX_BLOCK_MB),
    default=DEFAULT_BLOCK_MB,
    help="CSV read block (MB of text per batch).",
)
@option(
    "--spark-only",
    is_flag=True,
    help="Score in Spark even when numpy can (a decision tree or random forest is scored "
    "with numpy by default, without a JVM: the same predictions, bit for bit).",
)
@spark_options(shuffle_partitions=False)
def main(
    input_dir: Path,
    output_dir: Path,
    model_ref: str,
    threshold: float | None,
    tracking_uri: str | None,
    block_mb: int,
    spark_only: bool,
    spark_settings: SparkSettings,
) -> None:
    uri = required_tracking_uri(tracking_uri)
    sources = find_files(input_dir, SUFFIXES, "PaySim CSV files")
    try:
        model = resolve_model(model_ref, uri, threshold)
    except LineageError as exc:  # MLflow unreachable: not the input's fault (exit 1)
        raise click.ClickException(str(exc)) from exc
    progress(
        STAGE,
        f"{len(sources)} file(s) under {input_dir}; model {model.label} ({model_ref}), "
        f"run {model.run_id}, threshold {model.threshold:g}",
    )
    ctx = PachydermContext.from_env(
        default_pipeline=STAGE, local_inputs={input_dir.resolve().name: input_dir}
    )
    scorer = Scorer(model, spark_settings, spark_only=spark_only)
    with atomic_fresh_output(output_dir) as staging:
        for path in sources:
            scored = scorer.score(path, block_mb << 20)
            folder = staging / path.relative_to(input_dir)
            write_scored(folder, scored, scoring_record(scored, model, ctx))
    if not ctx.local:
        commit = ctx.output_commit or ctx.job_id
        record_use(model, commit, f"{ctx.pipeline}@{commit}")
    progress(STAGE, f"wrote predictions of {len(sources)} file(s) to {output_dir}")
