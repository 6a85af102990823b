"""Commit ids: 32 lowercase hex digits (a UUID4 without dashes), exactly like Pachyderm's
global ids, so `repo@<id>` parses as a commit id everywhere (facts/pachyderm.md)."""

from __future__ import annotations

import re
import uuid

COMMIT_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def new_id() -> str:
    return uuid.uuid4().hex


def is_commit_id(text: str) -> bool:
    return bool(COMMIT_ID_RE.match(text))


#: Hex digits of an id shown to a person (like git's short hashes); JSON keeps the full id.
SHORT_ID_LEN = 12


def short_id(text: str) -> str:
    """The first SHORT_ID_LEN characters of a commit, job or run id."""
    return text[:SHORT_ID_LEN]
