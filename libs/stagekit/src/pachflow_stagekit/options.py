"""Click options that the stage CLIs, the lineage commands and `pachflow` spell alike, and
how a stage names the environment variables of its options: once, by its prefix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def env_options(prefix: str) -> Callable[..., Callable[[F], F]]:
    """`click.option` for the options of one command that each read `<prefix>_<NAME>`
    (NAME: the long option name upper-cased, `-` as `_`: `--max-depth` of prefix
    PACHFLOW_TRAIN reads PACHFLOW_TRAIN_MAX_DEPTH). `--help` shows the variable and the
    default. The stage's README lists the same variables (tests/architecture checks it)."""

    def option(name: str, *decls: str, **attrs: Any) -> Callable[[F], F]:
        envvar = f"{prefix}_{name.removeprefix('--').replace('-', '_').upper()}"
        attrs.setdefault("show_default", True)
        return click.option(name, *decls, envvar=envvar, show_envvar=True, **attrs)

    return option


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


#: A stage's --tracking-uri: required (pachflow_stagekit.mlflow_access.required_tracking_uri).
STAGE_TRACKING_URI_HELP = (
    "MLflow tracking URI [env MLFLOW_TRACKING_URI; required: MLflow's own default would "
    "write ./mlflow.db and ./mlruns]."
)


def tracking_uri_option(help: str = STAGE_TRACKING_URI_HELP) -> Callable[[F], F]:
    """`--tracking-uri`, else MLFLOW_TRACKING_URI (MLflow's own variable), else None: what
    None means is the command's (`help` says it)."""
    return click.option("--tracking-uri", envvar="MLFLOW_TRACKING_URI", default=None, help=help)


def path_option(name: str, help: str, *, folder: bool = False) -> Callable[[F], F]:
    """An option naming a file (or, `folder`, a folder) the command writes, as a Path;
    None when not given."""
    kind = click.Path(file_okay=not folder, dir_okay=folder, path_type=Path)
    return click.option(name, type=kind, default=None, help=help)
