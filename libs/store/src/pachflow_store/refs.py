"""How a person names things on the command line, parsed in one place for every command.

- a commit: `[project/]REPO[@REF][:/PATH]`, REF a full 32-hex id, a branch, or a unique id
  prefix of 4+ hex digits (like git); `pipeline.spec` names a spec repo;
- a job: `PIPELINE@ID` (ID a full id or a unique prefix);
- an MLflow run: its 32-hex id or a unique prefix of 4+ hex digits;
- a registered model version: `NAME/VERSION`, `NAME@ALIAS` or `NAME/ALIAS`.

Parsing never asks a store: which commit, job or run a branch or prefix names is the
owner's answer (Store.resolve, the lineage backends, MLflow), through `pick_unique`, so
"unknown" and "ambiguous" read the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pachflow_contracts.commits import DEFAULT_PROJECT, is_commit_id
from pachflow_store.errors import NotFound, StoreError
from pachflow_store.ids import SHORT_ID_LEN

#: The shortest id prefix accepted (git's minimum).
MIN_PREFIX_LEN = 4
_PREFIX_RE = re.compile(rf"^[0-9a-f]{{{MIN_PREFIX_LEN},32}}$")
# A repo name as Pachyderm allows it, optionally `.spec`, optionally after `project/`.
_REPO_RE = re.compile(
    r"^(?:(?P<project>[A-Za-z0-9_-]+)/)?(?P<repo>[A-Za-z0-9_-]+)(?P<type>\.[a-z]+)?$"
)
_BRANCH_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_MODEL_NAME_RE = re.compile(r"^[^/@\s]+(?:/[^/@\s]+)*$")
_ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]+$")
#: Candidates listed when a prefix is ambiguous.
MAX_CANDIDATES = 10

COMMIT_FORMS = "[project/]REPO@ID, REPO@BRANCH or REPO@PREFIX (4+ hex digits of an id)"
MODEL_FORMS = "NAME/VERSION (e.g. pachflow-fraud-detector/3), NAME@ALIAS or NAME/ALIAS"


class BadName(StoreError):
    """Text that does not have the form of the name expected (the message says which)."""


class Ambiguous(StoreError):
    """An id prefix that names more than one object (the message lists them)."""


def is_id_prefix(text: str) -> bool:
    """4 to 32 lowercase hex digits: a full id or the start of one."""
    return bool(_PREFIX_RE.match(text))


def pick_unique(kind: str, text: str, candidates: Iterable[str]) -> str:
    """The one candidate id that starts with `text`. NotFound when none does; Ambiguous
    (listing them, short) when several do."""
    matches = sorted({c for c in candidates if c.startswith(text)})
    if len(matches) == 1:
        return matches[0]
    if not matches:
        if is_commit_id(text):
            raise NotFound(f"{kind} {text} does not exist")
        raise NotFound(f"no {kind} id starts with {text}")
    shown = ", ".join(m[:SHORT_ID_LEN] for m in matches[:MAX_CANDIDATES])
    more = f" and {len(matches) - MAX_CANDIDATES} more" if len(matches) > MAX_CANDIDATES else ""
    raise Ambiguous(
        f"{kind} prefix {text} is ambiguous: {len(matches)} match ({shown}{more}); give more digits"
    )


@dataclass(frozen=True)
class CommitName:
    """`[project/]repo[.type][@ref][:path]` as typed; `ref` "" means the default branch."""

    repo: str  # with its type suffix when given: `split.spec`
    ref: str = ""
    path: str | None = None  # None when no `:` was given
    project: str = DEFAULT_PROJECT

    @property
    def is_full_id(self) -> bool:
        return is_commit_id(self.ref)

    @property
    def text(self) -> str:
        """The commit as typed, without the path."""
        project = "" if self.project == DEFAULT_PROJECT else f"{self.project}/"
        return f"{project}{self.repo}" + (f"@{self.ref}" if self.ref else "")


def parse_commit_name(text: str, *, need_ref: bool = False, need_path: bool = False) -> CommitName:
    """Parse a commit (and file path). BadName says what was expected."""
    spec, colon, path = text.partition(":")
    repo_part, at, ref = spec.partition("@")
    match = _REPO_RE.match(repo_part)
    expected = COMMIT_FORMS + (":/PATH" if need_path else "")
    if match is None or (at and not _BRANCH_RE.match(ref)) or (need_ref and not ref):
        raise BadName(f"malformed commit {text!r}: expected {expected}")
    if need_path and not path.strip("/"):
        raise BadName(f"malformed file {text!r}: expected {expected}")
    return CommitName(
        repo=match["repo"] + (match["type"] or ""),
        ref=ref,
        path=path if colon else None,
        project=match["project"] or DEFAULT_PROJECT,
    )


@dataclass(frozen=True)
class JobName:
    pipeline: str
    id: str  # a full id or a prefix


def parse_job_name(text: str) -> JobName:
    """`PIPELINE@ID` (ID a full id or a 4+ hex prefix)."""
    pipeline, at, job_id = text.partition("@")
    if not at or not _REPO_RE.match(pipeline) or not is_id_prefix(job_id):
        raise BadName(
            f"malformed job {text!r}: expected PIPELINE@ID (ID a job id or 4+ of its hex digits)"
        )
    return JobName(pipeline, job_id)


@dataclass(frozen=True)
class ModelName:
    name: str
    version: str = ""  # a number
    alias: str = ""

    @property
    def text(self) -> str:
        return f"{self.name}/{self.version}" if self.version else f"{self.name}@{self.alias}"

    @property
    def version_or_alias(self) -> str:
        return self.version or self.alias


def parse_model_name(text: str) -> ModelName:
    """`NAME/VERSION`, `NAME@ALIAS` or `NAME/ALIAS`. BadName says what was expected."""
    for sep in ("@", "/"):
        name, found, last = text.rpartition(sep)
        if not found or not name or not _MODEL_NAME_RE.match(name):
            continue
        if last.isdigit():
            return ModelName(name, version=str(int(last)))
        if _ALIAS_RE.match(last):
            return ModelName(name, alias=last)
    raise BadName(f"malformed model version {text!r}: expected {MODEL_FORMS}")
