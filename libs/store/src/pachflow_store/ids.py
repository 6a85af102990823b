"""New commit ids (the rule they follow, `is_commit_id`, is pachflow_contracts.commits')
and their short form for people."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A new commit id: 32 lowercase hex digits (a UUID4 without dashes), like Pachyderm's."""
    return uuid.uuid4().hex


#: Hex digits of an id shown to a person (like git's short hashes); JSON keeps the full id.
SHORT_ID_LEN = 12


def short_id(text: str) -> str:
    """The first SHORT_ID_LEN characters of a commit, job or run id."""
    return text[:SHORT_ID_LEN]
