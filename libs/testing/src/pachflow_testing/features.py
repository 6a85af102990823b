"""Synthetic `features` v1 tables, and the `partials` v1 tables etl would write for them
(one partial row per customer), for train's tests and benchmarks.

Learnable but not trivially: fraud customers tend to drain their account (high
`drain_share`, large transfers/cash-outs, balance errors), with label noise, so a depth-5
tree scores well below 1.0 AUC-PR. Built with numpy, written with pyarrow under the
contract's stamped schema, so train's contract check accepts it.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pachflow_contracts import FEATURE_FORMULAS, FEATURES, LABEL_COLUMN, PARTIALS


def features_table(n_rows: int, seed: int = 7, fraud_rate: float = 0.01) -> pa.Table:
    """`n_rows` customers; about `fraud_rate` of them fraudulent."""
    rng = np.random.default_rng(seed)
    fraud = rng.random(n_rows) < fraud_rate
    n_tx = rng.integers(1, 6, n_rows) + fraud * rng.integers(0, 3, n_rows)
    kinds = rng.multinomial(1, [0.35, 0.34, 0.22, 0.08, 0.01], size=n_rows) * n_tx[:, None]
    kinds[fraud, 3] += 1  # fraud goes through a transfer...
    kinds[fraud, 0] += rng.random(int(fraud.sum())) < 0.5  # ...and often a cash-out
    n_tx = kinds.sum(axis=1)
    amount_mean = rng.lognormal(11, 1.2, n_rows) * np.where(fraud, 3.0, 1.0)
    old_org = rng.lognormal(10.5, 1.5, n_rows)
    drain = np.clip(np.where(fraud, rng.beta(8, 2, n_rows), rng.beta(2, 5, n_rows)), 0, 1)
    err_orig = np.where(fraud & (rng.random(n_rows) < 0.7), amount_mean * 0.5, 0.0)
    err_dest = rng.normal(0, 1000, n_rows) + np.where(fraud, amount_mean * 0.3, 0.0)
    first = rng.integers(1, 700, n_rows).astype(np.int32)
    last = np.minimum(first + rng.integers(0, 40, n_rows), 743).astype(np.int32)
    noisy_label = fraud ^ (rng.random(n_rows) < fraud_rate * 0.2)  # a little label noise
    cols = {
        "nameOrig": pa.array([f"C{i:010d}" for i in range(n_rows)], pa.string()),
        "n_tx": n_tx.astype(np.int64),
        "n_cash_out": kinds[:, 0].astype(np.int64),
        "n_payment": kinds[:, 1].astype(np.int64),
        "n_cash_in": kinds[:, 2].astype(np.int64),
        "n_transfer": kinds[:, 3].astype(np.int64),
        "n_debit": kinds[:, 4].astype(np.int64),
        "amount_mean": amount_mean,
        "amount_total": amount_mean * n_tx,
        "amount_max": amount_mean * rng.uniform(1, 2, n_rows),
        "oldbalanceOrg_mean": old_org,
        "newbalanceOrig_mean": old_org * (1 - drain),
        "oldbalanceDest_mean": rng.lognormal(11, 2, n_rows),
        "newbalanceDest_mean": rng.lognormal(11, 2, n_rows),
        "error_balance_orig_mean": err_orig,
        "error_balance_orig_max": err_orig * rng.uniform(1, 1.5, n_rows),
        "error_balance_dest_mean": err_dest,
        "error_balance_dest_max": err_dest + np.abs(rng.normal(0, 500, n_rows)),
        "drain_share": drain,
        "dest_zero_share": np.where(fraud, rng.beta(5, 2, n_rows), rng.beta(1, 6, n_rows)),
        "first_step": first,
        "last_step": last,
        "fraud_tx_count": noisy_label.astype(np.int64),  # is_fraud = fraud_tx_count > 0
        LABEL_COLUMN: noisy_label.astype(np.int32),
        "is_flagged": np.zeros(n_rows, np.int32),
    }
    schema = FEATURES.stamped_schema()
    arrays = [pa.array(cols[f.name], f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def partials_table(features: pa.Table) -> pa.Table:
    """The one partial row per customer whose merge gives `features` (shares and means
    times n_tx; shares rounded to whole rows)."""
    n_tx = features["n_tx"].to_numpy()
    cols = {}
    for name, (op, col) in FEATURE_FORMULAS.items():
        value = features[name].to_numpy()
        if op == "per_tx":
            value = value * n_tx
            if col.startswith("n_"):
                value = np.round(value)
        if op != "any":
            cols[col] = value
    schema = PARTIALS.stamped_schema()
    arrays = [
        pa.array(cols[f.name], f.type) if f.name != "nameOrig" else features["nameOrig"]
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def write_features(
    out_dir: str | Path,
    n_rows: int,
    *,
    seed: int = 7,
    fraud_rate: float = 0.01,
    n_files: int = 1,
    table: pa.Table | None = None,
) -> list[Path]:
    """Write `n_rows` synthetic customers (or `table`, partials) as etl does from one raw
    file: `shard=NN/part.parquet` partials, one file per shard. Returns the files."""
    table = partials_table(features_table(n_rows, seed, fraud_rate)) if table is None else table
    out = Path(out_dir)
    paths = []
    bounds = np.linspace(0, table.num_rows, n_files + 1).astype(int)
    for shard, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        path = out / f"shard={shard:02d}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(lo, hi - lo), path)
        paths.append(path)
    return paths
