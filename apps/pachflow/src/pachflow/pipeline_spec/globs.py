"""Pachyderm glob patterns as pachd 2.12 uses them (src/server/pfs/server/paths.go,
server_file.go globFile, src/internal/pfsfile CleanPath, src/internal/storage/paths.go).

pachd cleans the glob (`clean_glob`), compiles it with ohmyglob and '/' as the only
separator, and tests every file and directory of the commit as a whole path with trailing
slashes trimmed (`PachGlob.matches`); only the exact glob `/` matches the root. Before
matching, only paths starting with the glob's literal prefix are read (`literal_prefix`):
that changes nothing, except that a backslash before the first wildcard stays in the
prefix, so such a glob (e.g. `/\\d*`) matches nothing.

pachd does not compile the glob at CreatePipeline: a glob ohmyglob rejects is accepted and
every job then fails when it makes datums. `glob_problem` (the validator) reports exactly
those globs, and the empty glob pachd rejects; every other glob pachd accepts passes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from pachflow.pipeline_spec import ohmyglob
from pachflow.pipeline_spec.ohmyglob import GlobError

__all__ = ["GlobError", "PachGlob", "clean_glob", "compile_pach_glob", "glob_problem"]

ROOT = "/"
# storage/paths.go globRegex: the characters that end a glob's literal prefix
_WILDCARD = re.compile(r"[*?\[\]{}!()@+^]")


def go_path_clean(path: str) -> str:
    """Go's path.Clean: lexical, ignores glob characters; '' -> '.'."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append(part)
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def clean_glob(glob: str) -> str:
    """pfsfile.CleanPath: `*` -> `/*`, `a//b/` -> `/a/b`, `/a/./b` -> `/a/b`, `""` -> `/`."""
    cleaned = go_path_clean(glob)
    return ROOT if cleaned == "." else "/" + cleaned.strip("/")


def literal_prefix(cleaned: str) -> str:
    """storage.GlobLiteralPrefix: the text before the first wildcard character."""
    found = _WILDCARD.search(cleaned)
    return cleaned if found is None else cleaned[: found.start()]


@dataclass(frozen=True)
class PachGlob:
    """A cleaned, compiled glob: what pachd's GlobFile and the worker's key extraction use."""

    pattern: str  # cleaned
    regex: re.Pattern[str]

    @property
    def prefix(self) -> str:
        return literal_prefix(self.pattern)

    def matches(self, path: str) -> bool:
        """`path` as pachd stores it (directories end in '/', the root is '/')."""
        if path == ROOT and self.pattern == ROOT:
            return True
        return self.regex.match(path.rstrip("/")) is not None

    def replace(self, path: str, template: str) -> str:
        """A join_on/group_by key: `template` with `$n` from this path's captures."""
        return ohmyglob.replace(self.regex, path.rstrip("/"), template)


@functools.lru_cache(maxsize=512)
def compile_pach_glob(glob: str) -> PachGlob:
    """Clean and compile; GlobError with ohmyglob's message when it cannot be compiled."""
    cleaned = clean_glob(glob)
    return PachGlob(cleaned, ohmyglob.compile_glob(cleaned))


def glob_problem(pattern: str) -> str | None:
    """Why pachd would reject `pattern` (empty) or fail every job with it (ohmyglob cannot
    compile it), or None when it is a glob pachd runs."""
    if not pattern:
        return (
            'empty glob (pachd: "input must specify a glob"): use "/" for the whole repo '
            'as one datum or "/*" for one per entry'
        )
    try:
        compile_pach_glob(pattern)
    except GlobError as exc:
        return (
            f"bad glob {pattern!r}: {exc} (pachd accepts the spec but every job fails "
            "when it makes datums)"
        )
    return None
