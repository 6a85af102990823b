"""The env a Pachyderm 2.x worker sets, for tests of the worker context and what train logs
from it (no cluster needed: these are the variables, as pachd sets them)."""

from __future__ import annotations

JOB = "a" * 32
ETL_COMMIT = "b" * 32
SPEC_COMMIT = "c" * 32


def worker_env(**extra: str) -> dict[str, str]:
    """What a worker sets for a pipeline `train` in project `fraud` with one pfs input `etl`."""
    return {
        "PACH_JOB_ID": JOB,
        "PACH_OUTPUT_COMMIT_ID": JOB,
        "PACH_DATUM_ID": "d" * 64,
        "PPS_PIPELINE_NAME": "train",
        "PPS_PROJECT_NAME": "fraud",
        "PPS_SPEC_COMMIT": SPEC_COMMIT,
        "etl": "/pfs/etl",
        "etl_COMMIT": ETL_COMMIT,
        "PATH": "/usr/bin",
        **extra,
    }
