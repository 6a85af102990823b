"""Scoring PaySim transactions with a registered model, as the `score` stage and
`pachflow score` both do it (one code path): PaySim CSV -> checked rows
(pachflow_paysim.checked, as split) -> per-customer partials (pachflow_features.partials,
as etl) -> features (the merge train reads) -> the registered model (a decision tree or
random forest walked with numpy, pachflow_features.saved_trees, no JVM; else Spark) ->
fraud score (pachflow_features.scores, as train's evaluation) and decision."""

from pachflow_scoring.registry import MODEL_HELP, ModelNotUsable, ScoringModel, resolve_model
from pachflow_scoring.run import (
    PREDICTIONS_FILE,
    SCORING_JSON,
    Scorer,
    scoring_record,
    write_scored,
)
from pachflow_scoring.score import Scored

__all__ = [
    "MODEL_HELP",
    "PREDICTIONS_FILE",
    "SCORING_JSON",
    "ModelNotUsable",
    "Scored",
    "Scorer",
    "ScoringModel",
    "resolve_model",
    "scoring_record",
    "write_scored",
]
