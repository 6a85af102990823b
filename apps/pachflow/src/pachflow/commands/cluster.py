"""`pachflow deploy`, `pachflow undeploy` and `pachflow cluster put`: the cluster path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from pachflow.commands.specs import resolve_spec_files, resolve_stages_dir
from pachflow.pipeline_spec.locate import input_repos_from_env
from pachflow_contracts.commits import DEFAULT_BRANCH, DEFAULT_PROJECT

if TYPE_CHECKING:
    from pachyderm_sdk import Client

    from pachflow.pipeline_spec.spec import PipelineSpec

# pachyderm_sdk and grpc are imported inside the commands: other pachflow commands should
# not pay for them at start-up.

_files_argument = click.argument(
    "files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
_timeout_option = click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for pachd to answer before giving up.",
)


def _echo(message: str) -> None:
    click.echo(message)


def _fail(message: str, code: int) -> None:
    click.echo(f"pachflow: {message}", err=True)
    raise SystemExit(code)


def _checked_specs(files: tuple[Path, ...]) -> list[PipelineSpec]:
    """The specs, fully validated (pins included): a cluster only gets what validate passes."""
    from pachflow.pipeline_spec.validate import validate_files

    paths = resolve_spec_files(files)
    report = validate_files(
        paths,
        input_repos=input_repos_from_env(),
        stages_dir=resolve_stages_dir(None, paths),
    )
    if not report.ok:
        for line in report.problems:
            click.echo(line, err=True)
        raise SystemExit(2)
    return report.specs


def _client(timeout: float) -> Client:
    from pachflow_lineage.client import connect, resolve_target
    from pachflow_lineage.errors import Unreachable

    try:
        target = resolve_target()
        client = connect(target, timeout=timeout)
    except Unreachable as err:
        _fail(str(err), 2)
    click.echo(f"pachd: {target.address} (from {target.source})", err=True)
    return client


@click.command("deploy")
@_files_argument
@click.option(
    "--dry-run",
    is_flag=True,
    help="Have pachd check every request; change nothing (input repos must already exist).",
)
@click.option(
    "--reprocess", is_flag=True, help="Reprocess all datums of updated pipelines (new code)."
)
@_timeout_option
def deploy(files: tuple[Path, ...], dry_run: bool, reprocess: bool, timeout: float) -> None:
    """Create or update the pipelines on a Pachyderm cluster, in DAG order.

    FILES default to pipelines/*.json; they are validated first (as `pachflow validate`).
    Input repos that no pipeline produces (raw_data) are created when missing. The cluster
    is $PACHD_ADDRESS (grpc://host:port, grpcs:// for TLS), else the active pachctl context
    ($PACH_CONFIG or ~/.pachyderm/config.json); the auth token is $PACH_TOKEN if set.
    Exit 2 when the specs are invalid or pachd cannot be reached, 1 when pachd refuses.
    """
    from pachflow.cluster.deploy import DeployError
    from pachflow.cluster.deploy import deploy as deploy_specs

    specs = _checked_specs(files)
    client = _client(timeout)
    try:
        deploy_specs(client, specs, _echo, dry_run=dry_run, reprocess=reprocess)
    except DeployError as err:
        _fail(str(err), 1)


@click.command("undeploy")
@_files_argument
@click.option(
    "--input-repos",
    "delete_inputs",
    is_flag=True,
    help="Also delete the input repos (raw_data) and the data in them.",
)
@_timeout_option
def undeploy(files: tuple[Path, ...], delete_inputs: bool, timeout: float) -> None:
    """Delete the pipelines of FILES (default pipelines/*.json) and their output repos from
    the cluster, downstream first. Input repos are kept unless --input-repos is given."""
    from pachflow.cluster.deploy import DeployError
    from pachflow.cluster.deploy import undeploy as undeploy_specs

    specs = _checked_specs(files)
    client = _client(timeout)
    try:
        undeploy_specs(client, specs, _echo, delete_input_repos=delete_inputs)
    except DeployError as err:
        _fail(str(err), 1)


@click.group("cluster")
def cluster() -> None:
    """Work with data on the Pachyderm cluster (see also deploy/undeploy)."""


@cluster.command("put")
@click.argument("repo")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--branch", default=DEFAULT_BRANCH, show_default=True)
@click.option("--project", default=DEFAULT_PROJECT, show_default=True)
@click.option("--wait", is_flag=True, help="Wait until every job this commit starts finished.")
@_timeout_option
def put(
    repo: str, files: tuple[Path, ...], branch: str, project: str, wait: bool, timeout: float
) -> None:
    """Put FILES into REPO@BRANCH on the cluster in one commit (each at /<file name>),
    creating REPO if needed; prints the commit id."""
    from pachflow.cluster.deploy import DeployError, put_files
    from pachflow.cluster.requests import put_paths

    try:
        put_paths(files)  # refuse clashing names before touching the cluster
    except ValueError as err:
        _fail(str(err), 2)
    client = _client(timeout)
    try:
        put_files(client, repo, list(files), _echo, branch=branch, project=project, wait=wait)
    except ValueError as err:  # clashing names (checked above too, before connecting)
        _fail(str(err), 2)
    except DeployError as err:
        _fail(str(err), 1)
