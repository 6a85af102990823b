"""A commit named by repo and id, and the id rule: the one type the store, the local
runner, the lineage backends and the run's MLflow tags share.

Commit ids are 32 lowercase hex digits (a UUID4 without dashes), exactly like Pachyderm's
global ids, so `repo@<id>` parses as a commit id everywhere (facts/pachyderm.md); anything
else after `@` is a branch or an id prefix.
"""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass

USER = "user"  # a repo people put files in, or a pipeline's output repo (as in Pachyderm)
SPEC = "spec"  # a pipeline's spec repo: one commit per spec version
DEFAULT_PROJECT = "default"  # Pachyderm's default project (the local store has no others)
DEFAULT_BRANCH = "master"  # the branch a pfs input, `put file` and an output commit use unnamed

COMMIT_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def is_commit_id(text: str) -> bool:
    """True for a full commit id (32 lowercase hex digits)."""
    return bool(COMMIT_ID_RE.match(text))


@dataclass(frozen=True, order=True)
class CommitRef:
    """`repo@id`; a spec repo prints as `<pipeline>.spec@id` and a project other than
    'default' as `project/repo@id`, like pachctl."""

    repo: str
    id: str
    _: KW_ONLY
    repo_type: str = USER
    project: str = DEFAULT_PROJECT

    @property
    def repo_label(self) -> str:
        """`repo`, or `repo.spec` for a spec repo."""
        return self.repo if self.repo_type == USER else f"{self.repo}.{self.repo_type}"

    @property
    def label(self) -> str:
        """`repo@id`, `repo.spec@id` for spec commits, `project/...` outside 'default'."""
        name = self.repo_label
        if self.project != DEFAULT_PROJECT:
            name = f"{self.project}/{name}"
        return f"{name}@{self.id}"

    @property
    def key(self) -> str:
        """The lineage graph's node key (unique across node kinds)."""
        return f"commit:{self.label}"

    def __str__(self) -> str:
        return self.label
