"""Exit codes every stage shares: 0 success, 2 bad input or usage, 1 anything else."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import click

from pachflow_stagekit.text import printable

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class BadInput(click.ClickException):
    """The input (files, options or data) is wrong: exit 2 with one clear line on stderr.

    Say what is wrong, where (file, line, column) and what was expected. Quote input with
    `excerpt()`; whatever else slips in (a library's message with raw bytes or a newline)
    is escaped here, so the message stays one printable line. `details`: one line each
    below it (every problem of a spec, for one), each escaped alike.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, details: Iterable[str] = ()) -> None:
        super().__init__("\n".join(printable(line) for line in (message, *details)))


@contextmanager
def as_bad_input(*errors: type[Exception]) -> Iterator[None]:
    """An error of these types (a data contract's check, say) raised inside becomes
    BadInput with its message: exit 2, one line."""
    try:
        yield
    except errors as exc:
        raise BadInput(str(exc)) from exc
