"""The Pachyderm job context of a running stage (the worker's env), and the MLflow tags it
is written as (names: pachflow_contracts.run_tags).

Inside a Pachyderm worker the context comes from env vars (see PACH_*/PPS_* below and,
for every input `<name>`, `<name>` = the datum's path and `<name>_COMMIT` = its commit).
Pachyderm does not put an input's *repo* in the env: the repo of input `<name>` is taken
from an explicit mapping (argument `input_repos`, or env `PACHFLOW_INPUT_REPOS=
"name=repo,name2=repo2"`, e.g. set in the spec's transform.env), else it is assumed to be
`<name>` (Pachyderm's own default when a pfs input has no `name`).

Outside Pachyderm (no PACH_JOB_ID) the context is *local*: job id `local-<uuid4 hex>`, so
every manual run is a new MLflow run (a fixed id would make a re-run with other options
silently reuse the previous run); datum id `local`; pipeline the caller's default; and
each local input directory gets a fingerprint "commit" (sha256 over relative path, size
and mtime of its files, 32 hex like a Pachyderm commit id) so the same files give the
same dataset digest without reading the data. An input that is not a local directory (an
object-store URL) has no directory to fingerprint: its caller passes the fingerprint of
its listing (`fingerprint_entries`) in `local_commits`.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pachflow_contracts.commits import DEFAULT_PROJECT
from pachflow_contracts.run_tags import (
    CONTEXT_LOCAL,
    CONTEXT_PACHYDERM,
    TAG_CONTEXT,
    TAG_DATUM_ID,
    TAG_INPUT_COMMIT,
    TAG_INPUT_REPO,
    TAG_INPUTS,
    TAG_JOB_ID,
    TAG_OUTPUT_COMMIT,
    TAG_PIPELINE,
    TAG_PROJECT,
    TAG_SPEC_COMMIT,
)

# --- Pachyderm worker env vars -------------------------------------------------------------
ENV_JOB_ID = "PACH_JOB_ID"
ENV_OUTPUT_COMMIT = "PACH_OUTPUT_COMMIT_ID"
ENV_DATUM_ID = "PACH_DATUM_ID"
ENV_PIPELINE = "PPS_PIPELINE_NAME"
ENV_PROJECT = "PPS_PROJECT_NAME"
ENV_SPEC_COMMIT = "PPS_SPEC_COMMIT"
COMMIT_SUFFIX = "_COMMIT"
#: Ours, not Pachyderm's: "name=repo,..." for inputs whose name differs from their repo.
ENV_INPUT_REPOS = "PACHFLOW_INPUT_REPOS"

#: `X_COMMIT` vars that are not inputs even when an `X` var happens to exist.
_NOT_INPUTS = frozenset({"PPS_SPEC", "PACH_OUTPUT"})

LOCAL_DATUM_ID = "local"
LOCAL_JOB_PREFIX = "local-"


@dataclass(frozen=True)
class InputCommit:
    """One input of the job: its name (the /pfs/<name> folder), repo, commit and the
    datum's path inside /pfs (None when unknown)."""

    name: str
    repo: str
    commit: str
    path: str | None = None

    @property
    def ref(self) -> str:
        """`repo@commit`, Pachyderm's own notation (also the dataset name in MLflow)."""
        return f"{self.repo}@{self.commit}"


@dataclass(frozen=True)
class PachydermContext:
    """Who is running: the Pachyderm job and datum, or a local run."""

    job_id: str
    pipeline: str
    project: str
    datum_id: str
    output_commit: str | None = None
    spec_commit: str | None = None
    inputs: tuple[InputCommit, ...] = field(default_factory=tuple)
    local: bool = False

    @property
    def run_name(self) -> str:
        """`<pipeline>@<job_id>`: the MLflow run name (as the seed demo had it)."""
        return f"{self.pipeline}@{self.job_id}"

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        default_pipeline: str,
        input_repos: Mapping[str, str] | None = None,
        local_inputs: Mapping[str, str | Path] | None = None,
        local_commits: Mapping[str, str] | None = None,
    ) -> PachydermContext:
        """Read the worker env (default: os.environ); fall back to a local context.

        `local_inputs` ({input name: directory or URL}) is used only for the local
        fallback, to fingerprint what was read; `local_commits` ({input name: fingerprint})
        gives the fingerprint of an input that is no local directory (kept as given).
        """
        env = os.environ if env is None else env
        repos = {**parse_input_repos(env.get(ENV_INPUT_REPOS, "")), **(input_repos or {})}
        job_id = env.get(ENV_JOB_ID)
        if not job_id:
            return cls._local(env, default_pipeline, repos, local_inputs or {}, local_commits or {})
        inputs = tuple(
            InputCommit(
                name=name,
                repo=repos.get(name, name),
                commit=env[name + COMMIT_SUFFIX],
                path=env.get(name),
            )
            for name in input_names(env)
        )
        return cls(
            job_id=job_id,
            pipeline=env.get(ENV_PIPELINE) or default_pipeline,
            project=env.get(ENV_PROJECT) or DEFAULT_PROJECT,
            datum_id=env.get(ENV_DATUM_ID) or LOCAL_DATUM_ID,
            output_commit=env.get(ENV_OUTPUT_COMMIT) or job_id,
            spec_commit=env.get(ENV_SPEC_COMMIT) or None,
            inputs=inputs,
        )

    @classmethod
    def _local(
        cls,
        env: Mapping[str, str],
        default_pipeline: str,
        repos: Mapping[str, str],
        local_inputs: Mapping[str, str | Path],
        local_commits: Mapping[str, str],
    ) -> PachydermContext:
        inputs = tuple(
            InputCommit(
                name=name,
                repo=repos.get(name, name),
                commit=local_commits[name],
                path=str(path),
            )
            if name in local_commits
            else InputCommit(
                name=name,
                repo=repos.get(name, name),
                commit=fingerprint_dir(Path(path)),
                path=str(Path(path).resolve()),
            )
            for name, path in sorted(local_inputs.items())
        )
        return cls(
            job_id=LOCAL_JOB_PREFIX + uuid.uuid4().hex,
            pipeline=env.get(ENV_PIPELINE) or default_pipeline,
            project=env.get(ENV_PROJECT) or CONTEXT_LOCAL,
            datum_id=LOCAL_DATUM_ID,
            inputs=inputs,
            local=True,
        )

    # --- MLflow ---------------------------------------------------------------------------
    def tags(self) -> dict[str, str]:
        """The `pachyderm.*` tags for the MLflow run and the registered model version."""
        tags = {
            TAG_CONTEXT: CONTEXT_LOCAL if self.local else CONTEXT_PACHYDERM,
            TAG_JOB_ID: self.job_id,
            TAG_PIPELINE: self.pipeline,
            TAG_PROJECT: self.project,
            TAG_DATUM_ID: self.datum_id,
            TAG_INPUTS: ",".join(i.ref for i in self.inputs),
        }
        if self.output_commit:
            tags[TAG_OUTPUT_COMMIT] = self.output_commit
        if self.spec_commit:
            tags[TAG_SPEC_COMMIT] = self.spec_commit
        for i in self.inputs:
            tags[TAG_INPUT_REPO.format(name=i.name)] = i.repo
            tags[TAG_INPUT_COMMIT.format(name=i.name)] = i.commit
        return tags

    def run_filter(self) -> str:
        """MLflow search filter for the run(s) of this job + datum (retries find theirs)."""
        return (
            f"tags.`{TAG_JOB_ID}` = '{_quote(self.job_id)}' "
            f"AND tags.`{TAG_DATUM_ID}` = '{_quote(self.datum_id)}'"
        )


def input_names(env: Mapping[str, str]) -> list[str]:
    """Input names, sorted: every `<name>_COMMIT` var whose `<name>` var is set too (the
    worker always sets both) and that is not one of Pachyderm's own `*_COMMIT` vars."""
    names = []
    for key in env:
        if key.endswith(COMMIT_SUFFIX) and len(key) > len(COMMIT_SUFFIX):
            name = key[: -len(COMMIT_SUFFIX)]
            if name in env and name not in _NOT_INPUTS and env[key]:
                names.append(name)
    return sorted(names)


def parse_input_repos(text: str) -> dict[str, str]:
    """`"a=repo1, b=repo2"` -> {"a": "repo1", "b": "repo2"}; ValueError on a bad item."""
    result = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, repo = item.partition("=")
        if not sep or not name.strip() or not repo.strip():
            raise ValueError(f"{ENV_INPUT_REPOS}: expected name=repo, found {item!r}")
        result[name.strip()] = repo.strip()
    return result


def fingerprint_dir(root: Path) -> str:
    """32 hex chars from the (relative path, size, mtime) of every file under `root`:
    stable while the files are unchanged, cheap for GBs of data (nothing is read)."""
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    entries = []
    for path in files:
        if not path.exists():
            continue
        stat = path.stat()
        rel = path.relative_to(root) if root.is_dir() else Path(path.name)
        entries.append((rel.as_posix(), stat.st_size, stat.st_mtime_ns))
    return fingerprint_entries(entries)


def fingerprint_entries(entries: Iterable[tuple[str, int, int]]) -> str:
    """32 hex chars from (relative path, size, mtime in ns) entries, in the given order:
    fingerprint_dir's digest, for any listing (an object store's too)."""
    digest = hashlib.sha256()
    for rel, size, mtime_ns in entries:
        digest.update(f"{rel}\0{size}\0{mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def _quote(value: str) -> str:
    return value.replace("'", "\\'")
