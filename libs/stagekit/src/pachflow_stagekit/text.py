"""Text from the data (values, rows, file names) made safe for one line of an error or log.

Raw input can be anything: binary garbage, megabytes without a newline, ESC sequences
that rewrite a terminal, newlines that split a log line. Every message that quotes input
goes through `excerpt`; every input file name is checked by `unsafe_name_reason`.
"""

from __future__ import annotations

import unicodedata

#: How many characters of input an error message quotes at most (escapes included).
EXCERPT_CHARS = 80

# Characters that move the cursor, end a line or reorder text when printed: C0/C1 controls
# (Cc), undecodable bytes (Cs: Python's surrogateescape), line/paragraph separators.
_UNSAFE_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}
# Bidirectional embeddings, overrides and isolates: they make `a.csv` display as `vsc.a`.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def excerpt(text: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """`text` quoted like repr() (non-printable characters escaped: `\\x1b`, `\\n`; bytes
    that are not UTF-8, in bytes or in a surrogate-escaped str, as `\\xe9`), at most
    `limit` characters between the quotes, with how many characters were left out."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="surrogateescape")
    out: list[str] = []
    used = shown = 0
    for ch in text[:limit]:
        piece = "\\'" if ch == "'" else _escaped(ch)
        if used + len(piece) > limit:
            break
        out.append(piece)
        used += len(piece)
        shown += 1
    rest = len(text) - shown
    return "'" + "".join(out) + "'" + (f" (+{rest:,} more characters)" if rest > 0 else "")


def printable(text: str) -> str:
    """`text` with every non-printable character escaped (`\\n`, `\\x1b`): one line that
    cannot rewrite a terminal. Printable text is returned as it is."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    if 0xDC80 <= ord(ch) <= 0xDCFF:  # an undecodable byte (surrogateescape)
        return f"\\x{ord(ch) - 0xDC00:02x}"
    if ch.isprintable() and ch != "\\":
        return ch
    return repr(ch)[1:-1]


def unsafe_name_reason(name: str) -> str | None:
    """Why a file name cannot be passed on to outputs and logs (None: it can)."""
    for ch in name:
        if ch in _BIDI_CONTROLS:
            return f"a bidirectional control character (U+{ord(ch):04X})"
        category = unicodedata.category(ch)
        if category == "Cs":
            return "bytes that are not UTF-8"
        if category in _UNSAFE_CATEGORIES:
            return f"a control character (U+{ord(ch):04X})"
    return None
