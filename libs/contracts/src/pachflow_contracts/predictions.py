"""`predictions` v1: what the score stage writes, one row per customer (`nameOrig`) of a
scored file, as the model's features are defined (one row per customer). Files are laid
out as `<source-file-stem>/predictions.parquet`, next to that file's `scoring.json`."""

import pyarrow as pa

from pachflow_contracts.contract import Contract
from pachflow_contracts.features import ID_COLUMN, LABEL_COLUMN

SCORE_COLUMN = "fraud_score"
DECISION_COLUMN = "flagged"

PREDICTIONS = Contract(
    name="predictions",
    version=1,
    schema=pa.schema(
        [
            pa.field(ID_COLUMN, pa.string(), nullable=False),
            # the customer's transactions in the scored file (what the features summarise)
            pa.field("n_tx", pa.int64(), nullable=False),
            # P(fraud), rounded as in train's evaluation (pachflow_features.scores)
            pa.field(SCORE_COLUMN, pa.float64(), nullable=False),
            # fraud_score >= the threshold train recorded as best (scoring.json says which)
            pa.field(DECISION_COLUMN, pa.bool_(), nullable=False),
            # the label the PaySim rows carry (1 if any isFraud), for checking the decisions
            pa.field(LABEL_COLUMN, pa.int32(), nullable=False),
            pa.field("model_name", pa.string(), nullable=False),
            pa.field("model_version", pa.string(), nullable=False),
        ]
    ),
)
