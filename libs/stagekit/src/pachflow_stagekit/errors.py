"""Exit codes every stage shares: 0 success, 2 bad input or usage, 1 anything else."""

import click

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class BadInput(click.ClickException):
    """The input (files, options or data) is wrong: exit 2 with one clear line on stderr.

    Say what is wrong, where (file, line, column) and what was expected.
    """

    exit_code = EXIT_BAD_INPUT
