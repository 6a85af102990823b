"""Two trains that move the alias of a model that has none yet both insert it; the store
refuses one with a unique-key violation, which train retries (pachflow_train.mlflow_run).
The refusals are the tracking server's words on each backend (the PostgreSQL one as CI's
many-writers test met it); any other refusal still fails the run."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException, RestException

from pachflow_train.mlflow_run import lost_alias_insert

POSTGRES = (
    "(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "
    '"registered_model_alias_pk"'
)
SQLITE = (
    "(sqlite3.IntegrityError) UNIQUE constraint failed: "
    "registered_model_aliases.name, registered_model_aliases.alias"
)


@pytest.mark.parametrize("message", [POSTGRES, SQLITE])
def test_a_lost_alias_insert_is_recognised(message: str) -> None:
    assert lost_alias_insert(RestException({"error_code": "BAD_REQUEST", "message": message}))


@pytest.mark.parametrize(
    "message",
    [
        "Registered Model with name=m not found",
        'duplicate key value violates unique constraint "model_versions_pkey"',
        "Permission denied",
    ],
)
def test_other_refusals_are_not_retried(message: str) -> None:
    assert not lost_alias_insert(MlflowException(message))
