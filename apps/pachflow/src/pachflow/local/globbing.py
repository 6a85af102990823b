"""Pachyderm's glob patterns over the paths of a commit.

Pachyderm matches a pfs input's glob against every file AND directory of the input commit
(its glob library, ohmyglob, with '/' as separator): `*` and `?` stay within one path
component, `**` crosses components, `[...]`/`[!...]` are character classes, `{a,b}`
alternatives, `\\` escapes. `/` (or an empty glob) is the whole repo as one datum. Every
matching entry is one datum holding that file, or the directory with everything below it.
"""

from __future__ import annotations

import bisect
import functools
import re

ROOT = "/"


class GlobError(ValueError):
    """A glob pattern that cannot be parsed."""


@functools.lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """The regex for a glob pattern (normalised to start with '/')."""
    pattern = "/" + pattern.lstrip("/")
    out: list[str] = []
    i = 0
    depth = 0  # inside {...}
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 >= len(pattern):
                raise GlobError(f"glob {pattern!r} ends with a lone backslash")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
            else:
                out.append("[^/]*")
                i += 1
            continue
        if c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise GlobError(f"glob {pattern!r}: '[' without a closing ']'")
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^/" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        elif c == "{":
            depth += 1
            out.append("(?:")
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
        elif c == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    if depth:
        raise GlobError(f"glob {pattern!r}: '{{' without a closing '}}'")
    try:
        return re.compile("".join(out) + "\\Z")
    except re.error as exc:
        raise GlobError(f"glob {pattern!r}: {exc}") from exc


def is_whole_repo(pattern: str) -> bool:
    return pattern.strip("/") == ""


def entries(files: list[str]) -> list[str]:
    """Every file and every directory (without the root) of a commit's file paths."""
    found: set[str] = set()
    for path in files:
        found.add(path)
        parts = path.strip("/").split("/")
        for n in range(1, len(parts)):
            found.add("/" + "/".join(parts[:n]))
    return sorted(found)


def match(pattern: str, files: list[str]) -> list[tuple[str, list[str]]]:
    """The datums of one pfs input: (matched entry, the files it holds), sorted by entry.

    A pattern that matches nothing gives no datum (Pachyderm then commits an empty
    output). With `/` the whole commit is one datum, even when the commit is empty.
    """
    ordered = sorted(files)
    if is_whole_repo(pattern):
        return [(ROOT, ordered)]
    regex = glob_regex(pattern)
    datums = []
    for entry in entries(ordered):
        if regex.match(entry):
            # the entry itself (a file) or everything under it (a directory): one slice
            # of the sorted list, since "/a" < "/a/..." < "/a0" ("/" sorts before "0")
            lo = bisect.bisect_left(ordered, entry)
            hi = bisect.bisect_left(ordered, entry + "0")
            held = [f for f in ordered[lo:hi] if f == entry or f.startswith(entry + "/")]
            datums.append((entry, held))
    return datums
