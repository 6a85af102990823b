"""The local pachflow store: SQLite metadata + content-addressed files under $PACHFLOW_HOME.

Commits are named by pachflow_contracts' CommitRef (re-exported here: the store's API
returns it). The read side (repos, commits with direct provenance/subvenance, commit sets, files,
commit metadata, jobs, datums) is shared by `pachflow` and the provenance backend; the
small write side (put, commit, metadata, job records) is used by `pachflow`'s runner.
"""

from pachflow_contracts.commits import DEFAULT_BRANCH, SPEC, USER, CommitRef, is_commit_id
from pachflow_store.blobs import file_digest
from pachflow_store.errors import (
    DuplicateContent,
    NotFound,
    StoreBusy,
    StoreError,
    StoreReadOnly,
)
from pachflow_store.ids import SHORT_ID_LEN, new_id, short_id
from pachflow_store.jobs import RUNNER_ERROR, RUNNER_GONE
from pachflow_store.models import (
    DATUM_FAILED,
    DATUM_RECOVERED,
    DATUM_RUNNING,
    DATUM_SKIPPED,
    DATUM_SUCCESS,
    JOB_FAILURE,
    JOB_KILLED,
    JOB_RUNNING,
    JOB_SUCCESS,
    ORIGIN_AUTO,
    ORIGIN_USER,
    CommitInfo,
    DatumInfo,
    FileInfo,
    JobInfo,
    RepoInfo,
)
from pachflow_store.names import (
    HOME_ENV,
    MLFLOW_DB,
    Manifest,
    normalize_path,
    parse_repo,
    resolve_home,
    store_tracking_uri,
)
from pachflow_store.refs import (
    MIN_PREFIX_LEN,
    Ambiguous,
    BadName,
    CommitName,
    JobName,
    ModelName,
    is_id_prefix,
    parse_commit_name,
    parse_job_name,
    parse_model_name,
    pick_unique,
)
from pachflow_store.store import Recovery, Store

__all__ = [
    "DATUM_FAILED",
    "DATUM_RECOVERED",
    "DATUM_RUNNING",
    "DATUM_SKIPPED",
    "DATUM_SUCCESS",
    "DEFAULT_BRANCH",
    "HOME_ENV",
    "JOB_FAILURE",
    "JOB_KILLED",
    "JOB_RUNNING",
    "JOB_SUCCESS",
    "MIN_PREFIX_LEN",
    "MLFLOW_DB",
    "ORIGIN_AUTO",
    "ORIGIN_USER",
    "RUNNER_ERROR",
    "RUNNER_GONE",
    "SHORT_ID_LEN",
    "SPEC",
    "USER",
    "Ambiguous",
    "BadName",
    "CommitInfo",
    "CommitName",
    "CommitRef",
    "DatumInfo",
    "DuplicateContent",
    "FileInfo",
    "JobInfo",
    "JobName",
    "Manifest",
    "ModelName",
    "NotFound",
    "Recovery",
    "RepoInfo",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreReadOnly",
    "file_digest",
    "is_commit_id",
    "is_id_prefix",
    "new_id",
    "normalize_path",
    "parse_commit_name",
    "parse_job_name",
    "parse_model_name",
    "parse_repo",
    "pick_unique",
    "resolve_home",
    "short_id",
    "store_tracking_uri",
]
