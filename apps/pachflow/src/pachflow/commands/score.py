"""`pachflow score --model NAME@ALIAS FILE.csv [--out FILE]`: one-off scoring without a
pipeline, by the code the score stage runs (pachflow_scoring): same parsing, features,
model loading, threshold and record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from pachflow_stagekit import BadInput
from pachflow_stagekit.options import json_option, path_option, threshold_option

# pachflow_scoring (pyarrow, pyspark, mlflow) is imported when the command runs.

OUT_SUFFIXES = (".csv", ".csv.gz", ".parquet")


def _tracking_uri(given: str | None) -> str:
    """--tracking-uri, else $MLFLOW_TRACKING_URI, else the local store's MLflow (where
    `pachflow run` and `make demo` register their models)."""
    if given:
        return given
    from pachflow.local.env import TRACKING_ENV, local_tracking_uri
    from pachflow_store.names import MLFLOW_DB, resolve_home

    home = resolve_home(None)
    uri = local_tracking_uri(home)
    if uri.startswith("sqlite:///") and not (home / MLFLOW_DB).is_file():
        raise BadInput(
            f"no model registry here: {home / MLFLOW_DB} does not exist (run `make demo` or "
            f"`pachflow run` first, or set {TRACKING_ENV} / --tracking-uri)"
        )
    return uri


@click.command(name="score")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", "model_ref", required=True, help="NAME@ALIAS or NAME/VERSION.")
@path_option(
    "--out",
    "Write the predictions (one row per customer) here: .csv, .csv.gz or .parquet; "
    "its scoring record goes next to it as <out>.scoring.json.",
)
@threshold_option()
@click.option(
    "--tracking-uri",
    default=None,
    help="MLflow [default: $MLFLOW_TRACKING_URI, else the local store's, as `pachflow run`].",
)
@json_option("Print the scoring record as JSON.")
def score(
    file: Path,
    model_ref: str,
    out: Path | None,
    threshold: float | None,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Score the PaySim rows of FILE (.csv or .csv.gz, real PaySim1 format) with a registered
    model: one fraud score per customer, flagged at the threshold train recorded as best.

    Prints how many customers were flagged and the model version used. Exit 2 for a bad
    row (file:line), an unknown or unloadable model, or an --out that cannot be written.
    """
    from pachflow_contracts.worker_context import PachydermContext
    from pachflow_lineage.errors import LineageError
    from pachflow_paysim.reader import SUFFIXES
    from pachflow_scoring import Scorer, resolve_model, scoring_record

    if not file.name.endswith(SUFFIXES):
        raise BadInput(f"{file}: expected a PaySim CSV file (.csv or .csv.gz)")
    if not file.is_file():
        raise BadInput(f"{file}: no such file (expected a PaySim CSV file)")
    if out is not None and not out.name.endswith(OUT_SUFFIXES):
        raise BadInput(f"--out {out}: expected a name ending in {', '.join(OUT_SUFFIXES)}")
    if out is not None and not out.parent.is_dir():
        raise BadInput(f"--out {out}: folder {out.parent} does not exist")
    try:
        model = resolve_model(model_ref, _tracking_uri(tracking_uri), threshold)
    except LineageError as exc:
        raise click.ClickException(str(exc)) from exc
    scored = Scorer(model).score(file)
    ctx = PachydermContext.from_env(default_pipeline="score", local_inputs={"file": file})
    record = scoring_record(scored, model, ctx)
    if out is not None:
        _write(out, scored.predictions, record)
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    c = scored.counts()
    click.echo(
        f"scored {file.name}: {c['rows_read']:,} transactions, {c['customers']:,} customers; "
        f"{c['flagged']:,} flagged (fraud_score >= {model.threshold:g})"
    )
    click.echo(
        f"model {model.label} ({model_ref}), MLflow run {model.run_id}; threshold from "
        f"{model.threshold_source}"
    )
    if c["labelled_fraud"]:
        click.echo(
            f"the file's own labels: {c['labelled_fraud']:,} customers with fraud, "
            f"{c['flagged_labelled_fraud']:,} of them flagged"
        )
    if out is not None:
        click.echo(f"predictions: {out} (record: {out}.scoring.json)")


def _write(out: Path, predictions: Any, record: dict[str, Any]) -> None:
    """The predictions and their record, each complete or not at all."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    tmp = out.with_name(f".{out.name}.tmp")
    if out.name.endswith(".parquet"):
        pq.write_table(predictions, tmp)
    else:
        compression = "gzip" if out.name.endswith(".gz") else None
        with pa.output_stream(str(tmp), compression=compression) as sink:
            pacsv.write_csv(predictions, sink)
    record_path = out.with_name(out.name + ".scoring.json")
    record_tmp = record_path.with_name(f".{record_path.name}.tmp")
    record_tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out)
    record_tmp.replace(record_path)
