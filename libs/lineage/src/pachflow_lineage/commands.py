"""The lineage questions as click commands: `run`, `commit`, `model`.

One implementation, two front doors: `pachflow lineage ...` (the control CLI) and
`pachflow-provenance run|commit|model` (the provenance stage's image) register these same
commands.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

import pachflow_store as ps
from pachflow_lineage import render
from pachflow_lineage.backends import choose_backend
from pachflow_lineage.graph import Lineage
from pachflow_lineage.options import (
    CONTEXT,
    one_line_errors,
    open_source,
    output_options,
    source_options,
)
from pachflow_stagekit import BadInput
from pachflow_stagekit.options import json_option, path_option

if TYPE_CHECKING:
    from pachflow_lineage.resolve import Resolver

T = TypeVar("T")

# MLflow (through resolve/tracking) is imported when a question is asked: --help, usage
# errors and `pachflow` itself do not pay seconds of import time for it.

# A lineage question should fail in seconds when MLflow is down, not after minutes.
CLI_HTTP_RETRIES = 1
CLI_HTTP_TIMEOUT_S = 10


def default_tracking_uri(backend: str, home: str | None) -> str | None:
    """With the local store and no tracking URI given: the store's own MLflow database
    (`pachflow run` tracks to sqlite:///$PACHFLOW_HOME/mlflow.db), when it exists."""
    if backend != "local":
        return None
    root = ps.resolve_home(home)
    return ps.store_tracking_uri(root) if (root / ps.MLFLOW_DB).is_file() else None


def check_console_url(backend_kind: str) -> None:
    """--console-url links commits and jobs to a Pachyderm console; the local store has
    none, so asking for it there is refused rather than silently ignored (the variable
    PACHFLOW_CONSOLE_URL, set for a cluster, is ignored for the local store)."""
    ctx = click.get_current_context(silent=True)
    given = ctx is not None and ctx.get_parameter_source("console_url") == (
        click.core.ParameterSource.COMMANDLINE
    )
    if given and backend_kind == "local":
        raise BadInput(
            "--console-url: the local store has no Pachyderm console to link to (its "
            "lineage links the MLflow UI); use it with --backend pachyderm"
        )


def _resolver(opts: dict[str, Any]) -> Resolver:
    from pachflow_lineage.resolve import Resolver
    from pachflow_lineage.tracking import Tracking, quiet_http_retries

    quiet_http_retries(CLI_HTTP_RETRIES, CLI_HTTP_TIMEOUT_S)
    backend_kind = choose_backend(opts["backend"], opts["home"])
    check_console_url(backend_kind)
    # The store first: a missing one is named at once, before MLflow is touched (an MLflow
    # client with no URI would make ./mlflow.db in the current folder, seconds later).
    backend = open_source(backend_kind, opts)
    try:
        tracking = Tracking(
            opts["tracking_uri"] or default_tracking_uri(backend_kind, opts["home"]),
            timeout_s=CLI_HTTP_TIMEOUT_S,
        )
        tracking.check()
    except BaseException:
        backend.close()
        raise
    return Resolver(backend=backend, tracking=tracking)


def _emit(lineage: Lineage, fmt: str, png: Path | None, html: Path | None = None) -> None:
    """The report in `fmt`; with --png only the picture (and its path), unless another
    format was asked for as well."""
    if png is not None:
        render.write_png(lineage, png)
        click.echo(str(png))
    if html is not None:
        _write_html(lineage, html)
    if png is not None and fmt == "table":
        return
    text = {
        "json": render.to_json,
        "mermaid": render.to_mermaid,
        "dot": render.to_dot,
        "table": render.to_table,
    }[fmt](lineage)
    click.echo(text, nl=False)


def _write_html(lineage: Lineage, path: Path) -> None:
    from pachflow_lineage.html import write_html

    write_html(lineage, path)
    click.echo(f"wrote {path}", err=True)


def _ask(opts: dict[str, Any], question: Callable[[Resolver], T]) -> T:
    """Answer one question over a backend + MLflow, closing the backend afterwards."""
    resolver = _resolver(opts)
    try:
        return question(resolver)
    finally:
        resolver.backend.close()


def _check_png(png: Path | None) -> None:
    if png is not None and not render.graphviz_available():
        raise BadInput(
            "--png needs graphviz, which is not installed here (no `dot` on PATH; Debian: "
            "apt-get install graphviz); use --dot or --mermaid instead"
        )


@click.command("run", context_settings=CONTEXT)
@click.argument("run_id")
@source_options
@output_options
@one_line_errors
def run_cmd(run_id: str, fmt: str, png: Path | None, html: Path | None, **opts: Any) -> None:
    """Everything upstream of MLflow run RUN_ID (the id, or 4+ of its hex digits).

    The job and commit set, the train output commit, every upstream commit down to
    raw_data (repo, id, files, sizes), the pipeline spec versions, the registered model
    versions, and links (MLflow UI; Pachyderm console when --console-url is set).
    """
    _check_png(png)
    lineage = _ask(opts, lambda r: r.upstream_of_run(r.tracking.resolve_run_id(run_id)))
    _emit(lineage, fmt, png, html)


@click.command("commit", context_settings=CONTEXT)
@click.argument("commit")
@click.option("--upstream", is_flag=True, help="Instead: every commit and job COMMIT came from.")
@source_options
@output_options
@one_line_errors
def commit_cmd(
    commit: str, upstream: bool, fmt: str, png: Path | None, html: Path | None, **opts: Any
) -> None:
    """Everything downstream of COMMIT: REPO@ID, REPO@BRANCH or REPO@PREFIX (4+ hex digits
    of an id, as the CLI prints them).

    The jobs and output commits made from it, and the MLflow runs and registered model
    versions that came from this data. With --upstream: where COMMIT came from.
    A predictions commit (the score pipeline's: it holds <file>/scoring.json) is answered
    upstream: the model version(s) that scored, their MLflow runs and the raw_data commits
    and files that trained them.
    """
    name = ps.parse_commit_name(commit)
    _check_png(png)

    def walk(r: Resolver) -> Lineage:
        ref = r.backend.resolve_commit(name)
        records = r.scoring_records(ref)
        if records:  # a predictions commit: back to the model and the data that trained it
            return r.upstream_of_predictions(ref, records)
        return r.upstream_of_commit(ref) if upstream else r.downstream_of_commit(ref)

    _emit(_ask(opts, walk), fmt, png, html)


@click.command("model", context_settings=CONTEXT)
@click.argument("model")
@click.option(
    "--downstream",
    is_flag=True,
    help="Instead: what came from the version's train output commit (later pipelines).",
)
@source_options
@output_options
@one_line_errors
def model_cmd(
    model: str, downstream: bool, fmt: str, png: Path | None, html: Path | None, **opts: Any
) -> None:
    """The lineage of registered model version MODEL (NAME/VERSION, NAME@ALIAS or
    NAME/ALIAS).

    The run that produced it and everything upstream of that run, as for `run`. With
    --downstream: the jobs, commits and runs that came from its train output commit.
    """
    from pachflow_lineage.subject import parse_model

    parsed = parse_model(model)
    _check_png(png)

    def walk(r: Resolver) -> Lineage:
        fn = r.downstream_of_model if downstream else r.upstream_of_model
        return fn(parsed.name, parsed.version_or_alias)

    _emit(_ask(opts, walk), fmt, png, html)


@click.command("verify", context_settings=CONTEXT)
@click.argument("subject")
@source_options
@json_option()
@one_line_errors
def verify_cmd(subject: str, as_json: bool, **opts: Any) -> None:
    """Re-read the commits SUBJECT names and check them against what it recorded.

    SUBJECT: RUN_ID (or 4+ of its hex digits), NAME/VERSION or NAME@ALIAS. Both ways: the
    run's input tags and MLflow dataset inputs (digest = commit id) agree, every input and
    output commit still exists, the output commit's provenance holds exactly the recorded
    inputs and its mlflow.run_id metadata names the run, every file the provenance stage
    recorded (lineage.json) has the same size and content hash, every pachyderm.upstream.*
    tag is still upstream.
    Exit 0 when everything matches, 1 naming each mismatch, 2 when SUBJECT is unknown.
    """
    from pachflow_lineage.subject import parse_subject, resolve_run
    from pachflow_lineage.verify import verify_run

    parsed = parse_subject(subject)
    verdict = _ask(opts, lambda r: verify_run(r, resolve_run(r.tracking, parsed)[0]))
    click.echo(verdict.to_json() if as_json else verdict.to_table(), nl=False)
    if not verdict.ok:
        raise SystemExit(1)


@click.command("diff", context_settings=CONTEXT)
@click.argument("a")
@click.argument("b")
@source_options
@json_option()
@one_line_errors
def diff_cmd(a: str, b: str, as_json: bool, **opts: Any) -> None:
    """What changed from A to B (each RUN_ID or 4+ of its hex digits, NAME/VERSION or
    NAME@ALIAS).

    Input commits per repo, the files added, removed or changed in them (path, size,
    content hash), stage versions (spec commit and image per pipeline), params, metrics.
    """
    from pachflow_lineage.diff import diff
    from pachflow_lineage.subject import parse_subject

    left, right = parse_subject(a), parse_subject(b)
    result = _ask(opts, lambda r: diff(r, left, right))
    click.echo(result.to_json() if as_json else result.to_table(), nl=False)


@click.command("impact", context_settings=CONTEXT)
@click.argument("file")
@source_options
@json_option()
@path_option("--html", "Also write the downstream graph as one self-contained HTML page.")
@one_line_errors
def impact_cmd(file: str, as_json: bool, html: Path | None, **opts: Any) -> None:
    """Every run and model version that saw FILE (REPO@ID:/PATH; ID may be a branch or 4+
    hex digits of an id): what to retrain after a deletion request.

    Every commit of REPO that holds the same content at PATH, everything downstream of
    them: output commits, MLflow runs and registered model versions.
    """
    from pachflow_lineage.impact import impact

    name = ps.parse_commit_name(file, need_path=True)
    path = (name.path or "").strip("/")
    result = _ask(opts, lambda r: impact(r, r.backend.resolve_commit(name), path))
    click.echo(result.to_json() if as_json else result.to_table(), nl=False)
    if html is not None and result.lineage is not None:
        _write_html(result.lineage, html)


LINEAGE_COMMANDS: list[click.Command] = [
    run_cmd,
    commit_cmd,
    model_cmd,
    verify_cmd,
    diff_cmd,
    impact_cmd,
]


def lineage_group(name: str = "lineage") -> click.Group:
    """The lineage questions as a group, for `pachflow lineage ...` (same commands)."""
    group = click.Group(
        name,
        context_settings=CONTEXT,
        help="Lineage both ways between Pachyderm (or local) commits and MLflow runs and "
        "model versions: `run RUN_ID`, `commit REPO@ID`, `model NAME/VERSION`; audits: "
        "`verify RUN_ID`, `diff A B`, `impact REPO@ID:/PATH`.",
    )
    for command in LINEAGE_COMMANDS:
        group.add_command(command)
    return group
