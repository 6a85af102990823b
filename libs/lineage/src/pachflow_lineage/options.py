"""Options and error handling shared by the lineage commands and the link stage."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from pachflow_lineage.backends import BACKENDS, Backend, open_backend
from pachflow_lineage.errors import LineageError
from pachflow_stagekit import BadInput
from pachflow_stagekit.options import path_option, tracking_uri_option
from pachflow_store import HOME_ENV, StoreError

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def home_option(help: str) -> Callable[[F], F]:
    """`--home`, else $PACHFLOW_HOME: a local store's directory (None: neither given)."""
    return click.option("--home", envvar=HOME_ENV, default=None, help=help)


def source_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Where the lineage is read from: the backend and MLflow."""
    options = [
        click.option(
            "--backend",
            type=click.Choice(BACKENDS),
            default="auto",
            show_default=True,
            envvar="PACHFLOW_LINEAGE_BACKEND",
            help="Where commits are read: the local pachflow store or Pachyderm. auto: local "
            "when PACHFLOW_HOME is set, else Pachyderm when configured, else ./.pachflow.",
        ),
        home_option("Local store directory [env PACHFLOW_HOME; default ./.pachflow]."),
        click.option(
            "--pachd-address",
            default=None,  # unset: the client factory reads PACHD_ADDRESS (and names it)
            help="pachd, e.g. grpc://localhost:30650 [env PACHD_ADDRESS; else in-cluster env "
            "or pachctl config]. Auth token from PACH_TOKEN.",
        ),
        click.option(
            "--console-url",
            envvar="PACHFLOW_CONSOLE_URL",
            default=None,
            help="Pachyderm console base URL, for links [env PACHFLOW_CONSOLE_URL]; "
            "Pachyderm backend only (refused for the local store, which has no console).",
        ),
        tracking_uri_option(
            "MLflow tracking URI [env MLFLOW_TRACKING_URI; unset: with the local store, its "
            "mlflow.db (what `pachflow run` tracks to), else MLflow's default]."
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def open_source(kind: str, opts: dict[str, Any]) -> Backend:
    """The backend of kind `kind` (choose_backend's answer) where `source_options` say."""
    return open_backend(
        kind,
        home=opts["home"],
        pachd_address=opts["pachd_address"],
        console_url=opts["console_url"],
    )


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--json", "fmt", flag_value="json", help="JSON (commits as objects: repo, id, ...)."
        ),
        click.option("--mermaid", "fmt", flag_value="mermaid", help="A Mermaid flowchart."),
        click.option("--dot", "fmt", flag_value="dot", help="Graphviz DOT."),
        click.option(
            "--table", "fmt", flag_value="table", default=True, help="A readable table (default)."
        ),
        path_option(
            "--png",
            "Draw the graph (top down, short ids) to this PNG file and print its path, "
            "nothing else unless --json/--mermaid/--dot is also given (needs graphviz `dot`).",
        ),
        path_option(
            "--html",
            "Also write one self-contained HTML page: the graph, each node's commit, "
            "job, run, metrics, links to the MLflow UI.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """LineageError (unknown run/commit/model, unreachable pachd/MLflow/store) and a name
    that is malformed or ambiguous (pachflow_store.refs) -> exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (LineageError, StoreError) as exc:
            raise BadInput(str(exc)) from exc

    return wrapper
