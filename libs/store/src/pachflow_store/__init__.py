"""The local pachflow store: SQLite metadata + content-addressed files under $PACHFLOW_HOME.

The read side (repos, commits with direct provenance/subvenance, commit sets, files,
commit metadata, jobs, datums) is shared by `pachflow` and the provenance backend; the
small write side (put, commit, metadata, job records) is used by `pachflow`'s runner.
"""

from pachflow_store.errors import NotFound, StoreBusy, StoreError, StoreReadOnly
from pachflow_store.ids import SHORT_ID_LEN, is_commit_id, new_id, short_id
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
    SPEC,
    USER,
    CommitInfo,
    CommitRef,
    DatumInfo,
    FileInfo,
    JobInfo,
    RepoInfo,
)
from pachflow_store.names import (
    DEFAULT_BRANCH,
    HOME_ENV,
    Manifest,
    normalize_path,
    parse_repo,
    resolve_home,
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
    "ORIGIN_AUTO",
    "ORIGIN_USER",
    "RUNNER_ERROR",
    "RUNNER_GONE",
    "SHORT_ID_LEN",
    "SPEC",
    "USER",
    "CommitInfo",
    "CommitRef",
    "DatumInfo",
    "FileInfo",
    "JobInfo",
    "Manifest",
    "NotFound",
    "Recovery",
    "RepoInfo",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreReadOnly",
    "is_commit_id",
    "new_id",
    "normalize_path",
    "parse_repo",
    "resolve_home",
    "short_id",
]
