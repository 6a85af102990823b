"""Pachyderm's glob library, ohmyglob (github.com/pachyderm/ohmyglob at d5b4777, the version
pachd 2.12 pins), written anew in Python: the same lexer, parse tree and regex output.

A glob becomes a regex in three steps, each mirroring ohmyglob: lex (`_lex`), build the
tree (`_parse`), emit the regex (`_emit` plus the negation post-pass in `to_regex`). The
regex string is the one ohmyglob hands to regexp2 (a .NET-style engine); Python's `re`
reads it the same way (`\\z` is written `\\Z`). Quirks kept on purpose, because pachd has them:

- a bare `(...)` is a capture group, like `@(...)`; `!(P)` means "no separator, and not
  starting with P" (exactly P only when nothing follows the group);
- in `[...]` the first unescaped `!` or `^` anywhere negates the class, a negated class
  does NOT exclude the separator (`/a[!x]b` matches `/a/b`), a backslash inside a class is
  dropped (`[a\\-z]` is the range a-z), and POSIX names are replaced as text
  (`[[:digit:]]` also matches `[` and `]`);
- `{a,b}` is a non-capturing group; an unclosed `{` or `(` is closed by the end;
  `}`, `)`, `]` out of context and a trailing lone backslash are literal / dropped;
- `@`, `!`, `^`, `+` not followed by `(` start literal text that runs to the next
  `? * [ { (` (so inside `{}` it swallows `,` and `}`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

SEPARATOR = "/"

# ohmyglob's markers in the regex before its post-pass (compiler.go: closeNegDummy,
# boundaryDummy): the end of a negated alternative, and "a Text/`*`/`**` was here".
_CLOSE_NEG = "\uffff"
_BOUNDARY = "\ufffe"

# Go's regexp.QuoteMeta escapes exactly these.
_GO_META = frozenset("\\.+*?()|[]{}^$")

_BASIC_BREAKERS = frozenset("?*[{(")
_EXTENDED_BREAKERS = _BASIC_BREAKERS | frozenset("@!^+")
_CAPTURE_BREAKERS = _EXTENDED_BREAKERS | frozenset(")|")
_TERMS_BREAKERS = _EXTENDED_BREAKERS | frozenset("},")

# ast/parser.go: replaced as plain text inside a class body (":graph:" really ends in "]").
_POSIX_CLASSES = {
    ":alnum:": "0-9A-Za-z",
    ":alpha:": "A-Za-z",
    ":ascii:": "\x00-\x7f",
    ":blank:": "\t ",
    ":cntrl:": "\x00-\x1f\x7f",
    ":digit:": "0-9",
    ":graph:": "!-~]",
    ":lower:": "a-z",
    ":print:": " -~",
    ":punct:": "!-/:-@[-`{-~",
    ":space:": "\t\n\v\f\r ",
    ":upper:": "A-Z",
    ":word:": "0-9A-Za-z_",
    ":xdigit:": "0-9A-Fa-f",
}


class GlobError(ValueError):
    """A glob ohmyglob cannot compile (pachd then fails the job when it makes datums)."""


def quote_meta(text: str) -> str:
    return "".join("\\" + c if c in _GO_META else c for c in text)


# ----------------------------------------------------------------------------- lexer

# token kinds
_TEXT, _ANY, _SUPER, _SINGLE = "text", "any", "super", "single"
_RANGE_OPEN, _RANGE_CLOSE, _NOT = "range_open", "range_close", "not"
_TERMS_OPEN, _TERMS_CLOSE, _SEP = "terms_open", "terms_close", "sep"
_CAPTURE_OPEN, _CAPTURE_CLOSE = "capture_open", "capture_close"


def _check_runes(pattern: str) -> None:
    # Go reads the pattern rune by rune and stops at utf8.RuneError: invalid UTF-8 (a lone
    # surrogate here, after JSON decoding) and a literal U+FFFD both end in this error.
    for c in pattern:
        if c == "\ufffd" or "\ud800" <= c <= "\udfff":
            raise GlobError("could not read rune")


def _lex(pattern: str) -> list[tuple[str, str]]:
    _check_runes(pattern)
    tokens: list[tuple[str, str]] = []
    pos = 0
    terms = captures = 0
    end = len(pattern)

    def text(breakers: frozenset[str]) -> None:
        nonlocal pos
        data: list[str] = []
        escaped = False
        while pos < end:
            c = pattern[pos]
            if not escaped:
                if c == "\\":
                    escaped = True
                    pos += 1
                    continue
                if c in breakers:
                    break
            escaped = False
            data.append(c)
            pos += 1
        # a trailing lone backslash is dropped, not an error (lexer.go fetchText)
        if data:
            tokens.append((_TEXT, "".join(data)))

    def char_class() -> None:
        nonlocal pos
        seen_not = in_posix = escaped = False
        data: list[str] = []
        while True:
            if pos >= end:
                raise GlobError("unexpected end of input")
            c = pattern[pos]
            pos += 1
            if not escaped:
                if c == "\\":
                    escaped = True
                    continue
                if c == "[":
                    in_posix = True
                if c == "]":
                    if not in_posix:
                        break
                    in_posix = False
                if not seen_not and c in "!^":
                    tokens.append((_NOT, c))
                    seen_not = True
                    continue
            escaped = False
            data.append(c)
        if data:
            tokens.append((_TEXT, "".join(data)))
        tokens.append((_RANGE_CLOSE, "]"))

    while pos < end:
        c = pattern[pos]
        nxt = pattern[pos + 1] if pos + 1 < end else ""
        pos += 1
        if c == "{":
            terms += 1
            tokens.append((_TERMS_OPEN, c))
        elif c == "," and terms:
            tokens.append((_SEP, c))
        elif c == "}" and terms:
            tokens.append((_TERMS_CLOSE, c))
            terms -= 1
        elif c == "|" and captures:
            tokens.append((_SEP, c))
        elif c == "[":
            tokens.append((_RANGE_OPEN, c))
            char_class()
        elif c == "(":
            tokens.append((_CAPTURE_OPEN, "@"))
            captures += 1
        elif c in "@!^+?*" and nxt == "(":  # a quantifier opening a capture: ?( *( @( ...
            pos += 1
            tokens.append((_CAPTURE_OPEN, c))
            captures += 1
        elif c in "@!^+":
            pos -= 1
            text(_BASIC_BREAKERS)
        elif c == ")" and captures:
            tokens.append((_CAPTURE_CLOSE, c))
            captures -= 1
        elif c == "?":
            tokens.append((_SINGLE, c))
        elif c == "*":
            if nxt == "*":
                if pos + 1 < end and pattern[pos + 1] == "(":
                    tokens.append((_ANY, c))  # `**(` is `*` then the capture `*(`
                else:
                    pos += 1
                    tokens.append((_SUPER, "**"))
            else:
                tokens.append((_ANY, c))
        else:
            pos -= 1
            if terms:
                text(_TERMS_BREAKERS)
            elif captures:
                text(_CAPTURE_BREAKERS)
            else:
                text(_EXTENDED_BREAKERS)
    return tokens


# ----------------------------------------------------------------------------- parse tree


@dataclass
class _Node:
    kind: str  # pattern, text, any, super, single, list, any_of, capture
    value: str = ""  # text; a class body; a capture's quantifier
    negated: bool = False  # a class
    children: list[_Node] = field(default_factory=list)
    parent: _Node | None = None

    def add(self, child: _Node) -> _Node:
        child.parent = self
        self.children.append(child)
        return child


def _posix(body: str) -> str:
    for name, chars in _POSIX_CLASSES.items():
        body = body.replace(name, chars)
    return body


def _parse(pattern: str) -> _Node:
    tokens = _lex(pattern)
    root = tree = _Node("pattern")
    i = 0
    while i < len(tokens):
        kind, raw = tokens[i]
        i += 1
        if kind == _TEXT:
            tree.add(_Node("text", raw))
        elif kind in (_ANY, _SUPER, _SINGLE):
            tree.add(_Node(kind))
        elif kind == _RANGE_OPEN:
            negated, body = False, ""
            while tokens[i][0] != _RANGE_CLOSE:  # the lexer always closes a class
                if tokens[i][0] == _NOT:
                    negated = True
                else:
                    body = _posix(tokens[i][1])
                i += 1
            i += 1
            tree.add(_Node("list", body, negated))
        elif kind in (_TERMS_OPEN, _CAPTURE_OPEN):
            group = tree.add(_Node("any_of" if kind == _TERMS_OPEN else "capture", raw))
            tree = group.add(_Node("pattern"))
        elif kind == _SEP:
            assert tree.parent is not None  # only inside {} or ()
            tree = tree.parent.add(_Node("pattern"))
        else:  # a close: back to the pattern holding the group
            assert tree.parent is not None and tree.parent.parent is not None
            tree = tree.parent.parent
    return root


# ----------------------------------------------------------------------------- regex


def _emit(node: _Node, dot: str) -> str:
    kind = node.kind
    if kind == "pattern":
        return "".join(_emit(c, dot) for c in node.children)
    if kind == "any_of":
        return "(?:" + "|".join(_emit(c, dot) for c in node.children) + ")"
    if kind == "capture":
        quantifier = node.value
        joiner = _CLOSE_NEG + "|" if quantifier == "!" else "|"
        body = joiner.join(_emit(c, dot) for c in node.children)
        if quantifier == "@":
            return f"({body})"
        if quantifier in "*?+":
            return f"((?:{body}){quantifier})"
        if quantifier == "!":
            return f"((?:(?!(?:{body}{_CLOSE_NEG})){dot}*))"
        raise GlobError(f"unimplemented quatifier {quantifier}")  # `^(`: ohmyglob's wording
    if kind == "any":
        return dot + "*" + _BOUNDARY
    if kind == "super":
        return ".*" + _BOUNDARY
    if kind == "single":
        return dot
    if kind == "list":
        return "[" + ("^" if node.negated else "") + quote_meta(node.value) + "]"
    return quote_meta(node.value) + _BOUNDARY  # text


def to_regex(pattern: str, separators: str = SEPARATOR) -> str:
    """The regex ohmyglob builds for `pattern` (`\\A...\\Z`, whole-string)."""
    dot = f"[^{quote_meta(separators)}]" if separators else "."
    regex = _emit(_parse(pattern), dot)
    # A negation scope ends at the next Text/`*`/`**`; with none after the first negation
    # it runs to the end of the string (compiler.go Compile, after micromatch/extglob).
    index = regex.find(_CLOSE_NEG + ")")
    if index > 0:
        regex = regex.replace(_CLOSE_NEG, "" if _BOUNDARY in regex[index:] else "$")
    return "\\A" + regex.replace(_BOUNDARY, "") + "\\Z"


def compile_glob(pattern: str, separators: str = SEPARATOR) -> re.Pattern[str]:
    """ohmyglob's Compile: the compiled regex, or GlobError as pachd would report it."""
    regex = to_regex(pattern, separators)
    try:
        with warnings.catch_warnings():
            # "possible nested set" and the like: the regex is meant exactly as written
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(regex)
    except re.error as exc:
        raise GlobError(f"error parsing regexp: {exc}") from None


# ----------------------------------------------------------------------------- Replace

_GROUP_REF = re.compile(r"\$(?:\{([0-9]+)\}|([0-9]+))")


def replace(regex: re.Pattern[str], subject: str, template: str) -> str:
    """ohmyglob's Replace: `$n` / `${n}` in `template` become the n-th capture of `subject`
    (`$0` the whole match), `$$` is `$`; out of range or no match gives ''.

    A group number with a leading zero (`$01`) makes pachd's worker panic (index -1);
    here it is a GlobError, so the job fails with a message instead.
    """
    found = regex.match(subject)
    groups = [found.group(0), *(g or "" for g in found.groups())] if found else []
    out: list[str] = []
    while template:
        at = template.find("$")
        if at < 0:
            break
        out.append(template[:at])
        template = template[at:]
        if template.startswith("$$"):
            out.append("$")
            template = template[2:]
            continue
        ref = _GROUP_REF.match(template)
        if ref is None:  # malformed: the `$` is plain text
            out.append("$")
            template = template[1:]
            continue
        digits = ref.group(1) or ref.group(2)
        if len(digits) > 1 and digits[0] == "0":
            raise GlobError(f"${digits}: a group number cannot start with 0")
        number = int(digits) if len(digits) <= 9 else len(groups)
        if number < len(groups):
            out.append(groups[number])
        template = template[ref.end() :]
    out.append(template)
    return "".join(out)
