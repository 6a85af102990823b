"""Fixtures for etl's tests: one local[2] SparkSession for the whole pytest session, a
writer of TRANSACTIONS Parquet files (split's contract) with pyarrow, and the FEATURES
definitions computed independently with pandas (row by row, then grouped) to check etl's
Spark aggregation against."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pachflow_contracts import TRANSACTIONS
from pachflow_spark import SparkSettings, build_session

TYPES = ["CASH_OUT", "PAYMENT", "CASH_IN", "TRANSFER", "DEBIT"]
WriteTx = Callable[[Path, pd.DataFrame], Path]


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    yield build_session("pachflow-etl-tests", SparkSettings("local[2]", "1g", 2))


def write_transactions(path: Path, rows: pd.DataFrame) -> Path:
    """Write `rows` (TRANSACTIONS columns) as split would: contract schema, stamped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(
        rows[TRANSACTIONS.columns], schema=TRANSACTIONS.stamped_schema(), preserve_index=False
    )
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="session")
def write_tx() -> WriteTx:
    return write_transactions


def random_transactions(n: int, customers: list[str], seed: int) -> pd.DataFrame:
    """PaySim-like rows over `customers`, with exact drains and 0 -> 0 destinations mixed in."""
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(10, 1.5, n), 2)
    old_org = np.round(rng.lognormal(10, 2, n), 2) * (rng.random(n) > 0.3)
    drain = rng.random(n) < 0.2
    old_org = np.where(drain, amount, old_org)
    new_org = np.where(drain, 0.0, np.maximum(0.0, old_org - amount))
    old_dest = np.round(rng.lognormal(11, 2, n), 2) * (rng.random(n) > 0.4)
    new_dest = np.where(old_dest == 0, 0.0, np.round(old_dest + amount, 2))
    fraud = (rng.random(n) < 0.1).astype(np.int8)
    return pd.DataFrame(
        {
            "step": rng.integers(1, 744, n).astype(np.int32),
            "type": rng.choice(TYPES, n),
            "amount": amount,
            "nameOrig": rng.choice(customers, n),
            "oldbalanceOrg": old_org,
            "newbalanceOrig": new_org,
            "nameDest": [f"M{i}" for i in rng.integers(1, 10**9, n)],
            "oldbalanceDest": old_dest,
            "newbalanceDest": new_dest,
            "isFraud": fraud,
            "isFlaggedFraud": (fraud & (rng.random(n) < 0.3)).astype(np.int8),
        }
    )


TYPE_COLUMNS = {
    "CASH_OUT": "n_cash_out",
    "PAYMENT": "n_payment",
    "CASH_IN": "n_cash_in",
    "TRANSFER": "n_transfer",
    "DEBIT": "n_debit",
}


def expected_features(tx: pd.DataFrame) -> pd.DataFrame:
    """One row per nameOrig, indexed by nameOrig."""
    d = tx.copy()
    d["ebo"] = d.newbalanceOrig + d.amount - d.oldbalanceOrg
    d["ebd"] = d.oldbalanceDest + d.amount - d.newbalanceDest
    d["drain"] = (d.amount == d.oldbalanceOrg) & (d.newbalanceOrig == 0)
    d["dest_zero"] = (d.oldbalanceDest == 0) & (d.newbalanceDest == 0)
    for t, col in TYPE_COLUMNS.items():
        d[col] = d["type"] == t
    g = d.groupby("nameOrig")
    out = pd.DataFrame(
        {
            "n_tx": g.size(),
            **{col: g[col].sum() for col in TYPE_COLUMNS.values()},
            "amount_mean": g.amount.mean(),
            "amount_total": g.amount.sum(),
            "amount_max": g.amount.max(),
            "oldbalanceOrg_mean": g.oldbalanceOrg.mean(),
            "newbalanceOrig_mean": g.newbalanceOrig.mean(),
            "oldbalanceDest_mean": g.oldbalanceDest.mean(),
            "newbalanceDest_mean": g.newbalanceDest.mean(),
            "error_balance_orig_mean": g.ebo.mean(),
            "error_balance_orig_max": g.ebo.max(),
            "error_balance_dest_mean": g.ebd.mean(),
            "error_balance_dest_max": g.ebd.max(),
            "drain_share": g.drain.mean(),
            "dest_zero_share": g.dest_zero.mean(),
            "first_step": g.step.min(),
            "last_step": g.step.max(),
            "fraud_tx_count": g.isFraud.sum(),
            "is_fraud": g.isFraud.max(),
            "is_flagged": g.isFlaggedFraud.max(),
        }
    )
    return out.astype({c: "int64" for c in ["n_tx", *TYPE_COLUMNS.values(), "fraud_tx_count"]})


@pytest.fixture(scope="session")
def expected() -> Callable[[pd.DataFrame], pd.DataFrame]:
    return expected_features


@pytest.fixture(scope="session")
def random_tx() -> Callable[[int, list[str], int], pd.DataFrame]:
    return random_transactions
