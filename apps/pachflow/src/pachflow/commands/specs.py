"""`pachflow validate` and `pachflow pin`."""

from __future__ import annotations

from pathlib import Path

import click

# Only light modules at import time: validation imports pachyderm_sdk (~1 s), which every
# other pachflow command would otherwise pay for at start-up.
from pachflow.pipeline_spec.errors import SpecError
from pachflow.pipeline_spec.locate import (
    INPUT_REPOS_ENV,
    SPECS_DIR_ENV,
    default_specs_dir,
    input_repos_from_env,
)
from pachflow.pipeline_spec.pin import pin_file, plan_pin
from pachflow.pipeline_spec.stages import find_stages_dir


def resolve_spec_files(files: tuple[Path, ...]) -> list[Path]:
    """The named files, or pipelines/*.json; a usage error (exit 2) when there are none."""
    if files:
        return list(files)
    directory = default_specs_dir()
    if directory is None:
        raise click.UsageError(
            f"no spec files given and no pipelines/*.json found above {Path.cwd()} "
            f"(name the files or set ${SPECS_DIR_ENV})"
        )
    found = sorted(directory.glob("*.json"))
    if not found:
        raise click.UsageError(f"no *.json spec files in {directory}")
    return [_short(path) for path in found]


def _short(path: Path) -> Path:
    """`path` relative to the working directory when it is below it (shorter messages)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def resolve_stages_dir(stages_dir: Path | None, files: list[Path]) -> Path:
    if stages_dir is not None:
        return stages_dir
    # The stages next to the specs, else the checkout we are run from.
    found = find_stages_dir(files[0].parent) or find_stages_dir(Path.cwd())
    if found is None:
        raise click.UsageError(
            f"no stages/ directory above {files[0].parent} or {Path.cwd()}: pass --stages-dir"
        )
    return found


_files_argument = click.argument(
    "files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
_stages_option = click.option(
    "--stages-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Where stages/<stage>/pyproject.toml live (default: the nearest stages/ above the specs).",
)


@click.command("validate")
@_files_argument
@click.option(
    "--input-repo",
    "input_repos",
    multiple=True,
    metavar="REPO",
    help=f"A repo users put data in (repeatable; default ${INPUT_REPOS_ENV} or raw_data).",
)
@click.option(
    "--local",
    "local",
    is_flag=True,
    help="Also check that `pachflow run` can run the specs with pachd's meaning: a field "
    "the local runner cannot honour (s3 inputs, s3Out, spouts, services, stdin, ...) is "
    "named (docs/local-runner.md lists every field).",
)
@_stages_option
def validate(
    files: tuple[Path, ...], input_repos: tuple[str, ...], local: bool, stages_dir: Path | None
) -> None:
    """Check pipeline specs strictly against Pachyderm's CreatePipelineRequest.

    FILES default to pipelines/*.json. Checks unknown or misspelled fields at any depth,
    field types, durations ("600s"), transform.cmd/image, a stage writing outside /pfs/out,
    glob syntax, inputs that name no
    pipeline or input repo, cycles, and image tags against each stage's pyproject version.
    Prints one line per problem (file: field: message) and exits 2 if there is any.
    """
    from pachflow.pipeline_spec.dag import dag_order
    from pachflow.pipeline_spec.validate import validate_files

    paths = resolve_spec_files(files)
    report = validate_files(
        paths,
        input_repos=input_repos or input_repos_from_env(),
        stages_dir=resolve_stages_dir(stages_dir, paths),
    )
    if local:
        from pachflow.local.unsupported import local_problems

        for spec in report.specs:
            report.problems.extend(p.render(str(spec.path)) for p in local_problems(spec))
    if not report.ok:
        for line in report.problems:
            click.echo(line, err=True)
        raise SystemExit(2)
    order = " -> ".join(spec.name for spec in dag_order(report.specs))
    click.echo(f"ok: {len(report.specs)} specs valid; DAG order: {order}")


@click.command("pin")
@_files_argument
@click.option(
    "--registry",
    metavar="R",
    help="Also set the image registry prefix (R/pachflow-<stage>:<version>); '' drops it.",
)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if any spec is not pinned.")
@_stages_option
def pin(
    files: tuple[Path, ...], registry: str | None, check: bool, stages_dir: Path | None
) -> None:
    """Set each spec's image tag to its stage's version (stages/<stage>/pyproject.toml).

    Images named [registry/]pachflow-<stage>:<tag> are pinned; other images are left alone.
    Files are rewritten in one canonical format (2-space JSON, key order kept). FILES
    default to pipelines/*.json.
    """
    paths = resolve_spec_files(files)
    stages = resolve_stages_dir(stages_dir, paths)
    action = plan_pin if check else pin_file
    stale = 0
    try:
        for path in paths:
            change = action(path, stages, registry)
            if not change.changed:
                continue
            stale += 1
            verb = "would pin" if check else "pinned"
            if change.old_image != change.new_image:
                click.echo(f"{verb} {path}: {change.old_image} -> {change.new_image}")
            else:
                click.echo(f"{verb} {path}: reformatted")
    except SpecError as err:
        click.echo(str(err), err=True)
        raise SystemExit(2) from None
    if check and stale:
        raise SystemExit(1)
    if not stale:
        click.echo(f"ok: {len(paths)} specs already pinned")
