"""Click options that the stage CLIs, the lineage commands and `pachflow` spell alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def json_option(help: str = "Print JSON instead of a table.") -> Callable[[F], F]:
    """`--json`, passed as `as_json`: the command prints JSON instead of its human form."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def threshold_option(envvar: str | None = None) -> Callable[[F], F]:
    """`--threshold` of scoring (the score stage, `pachflow score`): the fraud score from
    which a customer is flagged; None: the one train recorded as best for the model."""
    return click.option(
        "--threshold",
        type=click.FloatRange(0.0, 1.0),
        default=None,
        envvar=envvar,
        help="Flag customers scoring at least this [default: the model's best-F1 threshold].",
    )
