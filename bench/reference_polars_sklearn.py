"""Single-process reference (issue 26): polars + scikit-learn, no JVM, no pipeline.

One Python process reads the raw PaySim CSV with polars, computes etl's per-customer
features (the contract's reductions and formulas, `pachflow_contracts.PARTIAL_REDUCTIONS`
and `FEATURE_FORMULAS`, evaluated with polars: only the four per-row values and the type
counts are written here, as polars expressions), holds customers out by train's rule
(Spark's `pmod(xxhash64(nameOrig, seed), 2^32) < fraction * 2^32`, XXH64 in numpy),
keeps train's negative share of the training non-fraud rows with weight 1/share (the same
customers: train's rule, `pachflow_train.data.sampled_mask`), fits
scikit-learn's DecisionTreeClassifier with train's defaults (`ModelSettings`) and
computes train's metrics (`pachflow_train.evaluate.evaluate_counts`, on every customer of
each part, as train's `classifier.evaluate` does). No MLflow, no files written.

What cannot match Spark MLlib's DecisionTreeClassifier, so the metrics agree closely, not
to the digit:
- split candidates: MLlib bins every continuous feature into at most maxBins (32) bins,
  its thresholds quantiles of a sample of the training rows (max(maxBins^2, 10,000) rows,
  drawn with the seed, so they depend on the partition layout); scikit-learn tries every
  midpoint between two distinct values (exact greedy). scikit-learn's trees have no
  binning option: there is no maxBins here, and the thresholds differ.
- precision: scikit-learn's trees cast features to float32 (MLlib compares doubles):
  values above 2^24 (money over ~16.8 M) are rounded to a step of 2 or more.
- ties: MLlib keeps the first best split (features in column order, thresholds
  ascending); scikit-learn visits the features in a random permutation (`random_state` =
  the seed) and keeps the first strictly better one. MLlib's seed only draws the
  threshold sample.
- leaves: MLlib merges two sibling leaves that predict the same class into their parent
  (whose class frequencies then score both); scikit-learn keeps them. That merge is
  applied here after fitting (`merged_leaf_probabilities`), so scores come from the same
  kind of tree.
- float sums of a customer's several transactions are added in another order (the last
  bit may differ; ~0.1 % of PaySim customers have more than one transaction).

    .venv/bin/python bench/reference_polars_sklearn.py job RAW.csv [--json OUT]
    .venv/bin/python bench/reference_polars_sklearn.py bench [--rows N] [--runs 3]

`bench` alternates this job with the monolithic Spark job (bench/monolithic.py) on the same
generated file and writes the section "single-process reference (polars + scikit-learn)".
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

BENCH = Path(__file__).resolve().parent
SECTION = "single-process reference (polars + scikit-learn)"
PHASES = ("imports", "read_and_features", "split", "fit", "evaluate")

if TYPE_CHECKING:
    import polars as pl
    from sklearn.tree import DecisionTreeClassifier


def xxhash64(ids: pl.Series, *ints: int) -> np.ndarray:
    """Spark's `xxhash64(nameOrig, lit(i), ...)` as uint64 (pachflow_features.hashing)."""
    from pachflow_features.hashing import xxhash64

    return xxhash64(ids.to_arrow(), *ints)


# --- features ---------------------------------------------------------------------------


def read_transactions(csv: Path) -> pl.LazyFrame:
    """The raw CSV typed by the `transactions` contract (PaySim's header and columns)."""
    import polars as pl
    import pyarrow as pa

    from pachflow_contracts import TRANSACTIONS

    kinds = {
        pa.int8(): pl.Int8,
        pa.int32(): pl.Int32,
        pa.float64(): pl.Float64,
        pa.string(): pl.String,
    }
    schema = {f.name: kinds[f.type] for f in TRANSACTIONS.schema}
    return pl.scan_csv(csv, schema=schema)


def customer_features(transactions: pl.LazyFrame) -> pl.LazyFrame:
    """One row per customer, the `features` v1 columns and types: the partials of all rows
    at once (`PARTIAL_REDUCTIONS` of the row values), then `FEATURE_FORMULAS`."""
    import polars as pl

    from pachflow_contracts import FEATURE_FORMULAS, FEATURES, ID_COLUMN, PARTIAL_REDUCTIONS
    from pachflow_features.partials import TYPE_COUNTS, source_of

    c = pl.col
    rows = {  # the same row values as pachflow_features.partials (Spark and Arrow)
        "error_balance_orig": c("newbalanceOrig") + c("amount") - c("oldbalanceOrg"),
        "error_balance_dest": c("oldbalanceDest") + c("amount") - c("newbalanceDest"),
        "drain": ((c("amount") == c("oldbalanceOrg")) & (c("newbalanceOrig") == 0)).cast(pl.Int64),
        "dest_zero": ((c("oldbalanceDest") == 0) & (c("newbalanceDest") == 0)).cast(pl.Int64),
        **{col: (c("type") == kind).cast(pl.Int64) for col, kind in TYPE_COUNTS.items()},
        "isFraud": c("isFraud").cast(pl.Int64),
        "isFlaggedFraud": c("isFlaggedFraud").cast(pl.Int32),
    }
    aggs = [pl.len().cast(pl.Int64).alias("n_tx")]
    for col, op in PARTIAL_REDUCTIONS.items():
        if col == "n_tx":
            continue
        source = source_of(col)
        value = rows.get(source, c(source))
        aggs.append(getattr(value, op)().alias(col))
    partials = transactions.group_by(ID_COLUMN).agg(aggs)
    kinds = {"int64": pl.Int64, "double": pl.Float64, "int32": pl.Int32, "string": pl.String}
    columns = []
    for field in FEATURES.schema:
        op, col = FEATURE_FORMULAS[field.name]
        value = c(col)
        if op == "per_tx":
            value = value.cast(pl.Float64) / c("n_tx").cast(pl.Float64)
        elif op == "any":
            value = value > 0
        columns.append(value.cast(kinds[str(field.type)]).alias(field.name))
    return partials.select(columns)


# --- split, sample, fit, evaluate -------------------------------------------------------


def held_out(ids: pl.Series, test_fraction: float, seed: int) -> np.ndarray:
    """train's hold-out rule (pachflow_train.data.prepare): a customer is held out when
    xxhash64(nameOrig, seed) mod 2^32 < test_fraction * 2^32."""
    from pachflow_train.data import HOLDOUT_BUCKETS

    bucket = xxhash64(ids, seed) & np.uint64(HOLDOUT_BUCKETS - 1)  # pmod(x, 2^32)
    return bucket < test_fraction * HOLDOUT_BUCKETS


def holdout_digest(ids: pl.Series, is_test: np.ndarray) -> str:
    """The held-out set's digest as train logs it (ClassCounts.test_digest): the XOR of the
    held-out ids' xxhash64."""
    return f"{int(np.bitwise_xor.reduce(xxhash64(ids.filter(is_test)))):016x}"


def merged_leaf_probabilities(tree: DecisionTreeClassifier) -> np.ndarray:
    """P(fraud) for every node id a row can land in, after MLlib's merge: bottom-up, two
    leaf children that predict the same class become one leaf scored by their parent's
    class frequencies."""
    t = tree.tree_
    value = t.value[:, 0, :] / t.value[:, 0, :].sum(axis=1, keepdims=True)
    leaf_of = np.arange(t.node_count)  # node -> the node whose frequencies score it
    is_leaf = t.children_left == -1

    def merge(node: int) -> None:
        left, right = t.children_left[node], t.children_right[node]
        if left == -1:
            return
        merge(left)
        merge(right)
        if is_leaf[left] and is_leaf[right] and value[left].argmax() == value[right].argmax():
            is_leaf[node] = True
            for child in (left, right):
                leaf_of[leaf_of == child] = node

    merge(0)
    return value[leaf_of, 1]


def fraud_scores(probability: np.ndarray) -> np.ndarray:
    """train's score of each probability (pachflow_features.scores.fraud_score): Spark's
    round(p, SCORE_DECIMALS), HALF_UP on the double's shortest decimal form."""
    from decimal import ROUND_HALF_UP, Decimal

    from pachflow_features.scores import SCORE_DECIMALS

    step = Decimal(1).scaleb(-SCORE_DECIMALS)
    return np.array(
        [float(Decimal(repr(float(p))).quantize(step, ROUND_HALF_UP)) for p in probability]
    )


def features_matrix(frame: pl.DataFrame) -> np.ndarray:
    """MODEL_INPUTS as the float32 matrix scikit-learn's trees work on."""
    import polars as pl

    from pachflow_contracts import MODEL_INPUTS

    return frame.select(pl.col(list(MODEL_INPUTS)).cast(pl.Float32)).to_numpy(order="c")


def job(csv: Path) -> dict[str, Any]:
    """The whole reference job; returns the seconds of each phase, the metrics, and this
    process's peak RSS."""
    t = time.perf_counter()
    import polars as pl
    from sklearn.tree import DecisionTreeClassifier

    from pachflow_contracts import ID_COLUMN, LABEL_COLUMN
    from pachflow_train.classifier import ModelSettings
    from pachflow_train.data import MIN_SAMPLED_NEGATIVES, negative_share, sampled_mask
    from pachflow_train.evaluate import evaluate_counts

    s = ModelSettings()
    assert s.classifier == "decision_tree" and s.class_weight == "none", s
    times: dict[str, Any] = {"imports": time.perf_counter() - t}

    t = time.perf_counter()
    features = customer_features(read_transactions(csv)).collect()
    times["read_and_features"] = time.perf_counter() - t

    t = time.perf_counter()
    ids = features[ID_COLUMN]
    label = features[LABEL_COLUMN].to_numpy()
    is_test = held_out(ids, s.test_fraction, s.seed)
    train_neg = int(((~is_test) & (label != 1)).sum())
    share = negative_share(train_neg, s.negative_fraction, MIN_SAMPLED_NEGATIVES)
    fit_mask = ~is_test & sampled_mask(ids.to_arrow(), label, share, s.seed)
    fit_rows = features.filter(pl.Series(fit_mask)).sort(ID_COLUMN)
    times["split"] = time.perf_counter() - t

    t = time.perf_counter()
    tree = DecisionTreeClassifier(
        criterion=s.impurity,
        max_depth=s.max_depth,
        min_samples_leaf=s.min_instances_per_node,
        random_state=s.seed,
    )
    fit_label = fit_rows[LABEL_COLUMN].to_numpy()
    weights = np.where(fit_label == 1, 1.0, 1.0 / share)
    tree.fit(features_matrix(fit_rows), fit_label, sample_weight=weights)
    del fit_rows
    times["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    node_score = fraud_scores(merged_leaf_probabilities(tree))
    score = np.empty(len(features))
    for start in range(0, len(features), 1_000_000):  # bounded float32 copies
        chunk = features_matrix(features.slice(start, 1_000_000))
        score[start : start + len(chunk)] = node_score[tree.apply(chunk)]
    groups = (
        pl.DataFrame({"is_test": is_test, "score": score, "label": label})
        .group_by("is_test", "score", "label")
        .len()
    )
    metrics: dict[str, float] = {}
    for part, flag in (("test", True), ("train", False)):
        mine = groups.filter(pl.col("is_test") == flag)
        evaluation = evaluate_counts(
            mine["score"].to_numpy(), mine["label"].to_numpy(), mine["len"].to_numpy()
        )
        metrics |= evaluation.metrics(part)
    times["evaluate"] = time.perf_counter() - t

    times["customers"] = len(features)
    times["test_areaUnderPR"] = metrics["test_areaUnderPR"]
    times["fit_rows"] = len(fit_label)
    times["negative_share"] = share
    times["test_digest"] = holdout_digest(ids, is_test)
    times["metrics"] = metrics
    times["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return times


# --- bench: alternating with the monolithic Spark job -----------------------------------


def ours_cold(rows: int) -> tuple[float, str] | None:
    """The last cold `pachflow run` wall that `bench_e2e.py --what cold` recorded
    (bench/results.json), median of its runs."""
    from harness import load_result, median

    cold = load_result(f"e2e_cold_{rows}")
    if not cold:
        return None
    walls = [c["run"]["wall_s"] for c in cold]  # type: ignore[union-attr]
    return median(
        walls
    ), f"`bench_e2e.py --what cold`, median of {len(walls)} (section end to end, cold)"


def bench(rows: int, runs: int, ours: tuple[float, str] | None) -> None:
    import data
    from harness import (
        loads,
        machine_line,
        measure,
        median_of,
        save_result,
        say,
        table,
        write_section,
    )

    raw = data.raw_csv(rows, seed=42)
    work = data.scratch(f"reference-{rows}")
    commands = {
        "reference": [sys.executable, __file__, "job", str(raw)],
        "monolithic": [sys.executable, str(BENCH / "monolithic.py"), "job", str(raw)],
    }
    measured: dict[str, list[tuple[Any, dict[str, Any]]]] = {k: [] for k in commands}
    for i in range(runs):
        for name, cmd in commands.items():  # alternating: reference, monolithic, ...
            out = work / f"{name}-{i}.json"
            m = measure([*cmd, "--json", str(out)], log=work / f"{name}-{i}.log")
            result = json.loads(out.read_text())
            say(f"{name} run {i}: {m.wall_s:.1f} s, peak {m.peak_rss_mb:.0f} MB")
            measured[name].append((m, result))
    med = {}
    for name, pairs in measured.items():
        ms = [m for m, _ in pairs]
        med[name] = (median_of(ms), pairs[ms.index(median_of(ms))][1])
    ref_m, ref = med["reference"]
    mono_m, mono = med["monolithic"]
    ours = ours or ours_cold(rows)
    save_result(
        f"reference_polars_sklearn_{rows}",
        {
            name: {
                "walls": [m.wall_s for m, _ in pairs],
                "peak_rss": [m.peak_rss for m, _ in pairs],
                "loads": loads([m for m, _ in pairs]),
                "median_wall_s": med[name][0].wall_s,
                "results": [r for _, r in pairs],
            }
            for name, pairs in measured.items()
        }
        | {"ours_cold": ours},
    )

    def run_rows(name: str) -> list[list[object]]:
        return [
            [
                f"{name} {i + 1}",
                f"{m.wall_s:.1f} s",
                f"{m.peak_rss_mb:.0f} MB",
                f"{m.cpu_s:.0f} s",
                f"{r['test_areaUnderPR']:.4f}",
                f"{m.load_before:.1f} -> {m.load_max:.1f}",
            ]
            for i, (m, r) in enumerate(measured[name])
        ]

    runs_table = table(
        [
            row
            for pair in zip(run_rows("reference"), run_rows("monolithic"), strict=True)
            for row in pair
        ],
        ["run (in this order)", "wall", "peak RSS (tree)", "CPU", "test areaUnderPR", "load"],
        "lrrrrl",
    )
    metric_names = [
        "test_rows",
        "test_positives",
        "test_areaUnderPR",
        "test_areaUnderROC",
        "test_precision_at_0.5",
        "test_recall_at_0.5",
        "test_f1_at_0.5",
        "test_f1_at_best",
        "train_areaUnderPR",
        "train_f1_at_0.5",
    ]
    mono_metrics = mono.get("metrics", {})
    metrics_table = table(
        [
            [
                k,
                f"{ref['metrics'][k]:.4f}".rstrip("0").rstrip("."),
                f"{mono_metrics[k]:.4f}".rstrip("0").rstrip(".") if k in mono_metrics else "-",
            ]
            for k in metric_names
        ],
        ["metric (median run)", "polars + scikit-learn", "monolithic Spark"],
        "lrr",
    )
    phases = table(
        [[p, f"{ref[p]:.1f}"] for p in PHASES],
        ["reference phase (median run)", "s"],
        "lr",
    )
    ratio_line = "ours / reference: no cold `pachflow run` recorded (`bench_e2e.py --what cold`)."
    if ours:
        wall, source = ours
        ratio_line = (
            f"**ours / reference = {wall:.1f} / {ref_m.wall_s:.1f} = {wall / ref_m.wall_s:.2f}** "
            f"(ours: cold `pachflow run`, raw CSV -> registered model, {source}); "
            f"ours / monolithic of this invocation = {wall / mono_m.wall_s:.2f}."
        )
    write_section(
        SECTION,
        f"""
`.venv/bin/python bench/reference_polars_sklearn.py {shlex.join(sys.argv[1:])}`
({machine_line()}).

Alternating, in this order, on `gen-paysim --rows {rows} --seed 42`: the reference (one
Python process, polars {_version("polars")} and scikit-learn {_version("scikit-learn")}:
the script's `job`; its docstring says what it computes and what cannot match MLlib's
tree) and the monolithic Spark job (`bench/monolithic.py job`). Peak RSS: the whole
process tree, polled (harness.py).

{runs_table}

Medians: **reference {ref_m.wall_s:.1f} s, {ref_m.peak_rss_mb:.0f} MB**; monolithic
{mono_m.wall_s:.1f} s, {mono_m.peak_rss_mb:.0f} MB: **monolithic / reference =
{mono_m.wall_s / ref_m.wall_s:.2f}**.

{ratio_line}

{phases}

The reference's median run: {ref["customers"]:,} customers, {ref["fit_rows"]:,} fitted
(negative share {ref["negative_share"]:.4f}), held-out digest {ref["test_digest"]}.

{metrics_table}
""",
    )


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def main() -> None:
    sys.path.insert(0, str(BENCH))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("job")
    j.add_argument("csv", type=Path)
    j.add_argument("--json", type=Path)
    b = sub.add_parser("bench")
    b.add_argument("--rows", type=int, default=6_362_620)
    b.add_argument("--runs", type=int, default=3)
    b.add_argument("--ours-s", type=float, help="cold `pachflow run` wall to compare with")
    b.add_argument("--ours-source", default="", help="where --ours-s was measured")
    args = parser.parse_args()
    if args.cmd == "job":
        text = json.dumps(job(args.csv))
        if args.json:
            args.json.write_text(text)
        print(text)
    else:
        ours = (args.ours_s, args.ours_source) if args.ours_s else None
        bench(args.rows, args.runs, ours)


if __name__ == "__main__":
    main()
