"""Syntax check for Pachyderm glob patterns (pachd matches them with doublestar: `*`, `**`,
`?`, `[class]`, `{alt,ernatives}`, `\\` escapes)."""

from __future__ import annotations


def glob_problem(pattern: str) -> str | None:
    """Why `pattern` is not a valid Pachyderm glob, or None when it is."""
    if not pattern:
        return 'empty glob: use "/" for the whole repo as one datum or "/*" for one per entry'
    braces = 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 >= len(pattern):
                return f"bad glob {pattern!r}: trailing backslash escapes nothing"
            i += 2
            continue
        if char == "[":
            end = _class_end(pattern, i)
            if end is None:
                return f"bad glob {pattern!r}: '[' at position {i} is never closed"
            if end == i + 1 or (end == i + 2 and pattern[i + 1] in "!^"):
                return f"bad glob {pattern!r}: empty character class at position {i}"
            i = end + 1
            continue
        if char == "]":
            return f"bad glob {pattern!r}: ']' at position {i} has no matching '['"
        if char == "{":
            braces += 1
        elif char == "}":
            if braces == 0:
                return f"bad glob {pattern!r}: '}}' at position {i} has no matching '{{'"
            braces -= 1
        i += 1
    if braces:
        return f"bad glob {pattern!r}: '{{' is never closed"
    return None


def _class_end(pattern: str, start: int) -> int | None:
    """Index of the ']' closing the class opened at `start`, or None."""
    i = start + 1
    if i < len(pattern) and pattern[i] in "!^":
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i
        i += 1
    return None
