"""Load pipeline spec files: parse, check against pachyderm_sdk's messages, normalize."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pachyderm_sdk.api.pps import CreatePipelineRequest

from pachflow.pipeline_spec.checks import check_semantics
from pachflow.pipeline_spec.errors import Problem, SpecError
from pachflow.pipeline_spec.jsonfile import read_json
from pachflow.pipeline_spec.schema import check_message, to_snake
from pachflow.pipeline_spec.spec import PipelineSpec, from_snake


def spec_files(directory: Path | str) -> list[Path]:
    """The spec files of a directory: *.json, sorted by name."""
    return sorted(Path(directory).glob("*.json"))


def check_spec_file(path: Path) -> tuple[PipelineSpec | None, list[Problem]]:
    """Parse and check one file on its own; the spec is None when it has problems."""
    raw, problems = read_json(path)
    if raw is None:
        return None, problems
    problems = check_message(raw, CreatePipelineRequest)
    if problems:
        return None, problems
    snake = to_snake(raw, CreatePipelineRequest)
    problems = check_semantics(snake)
    if problems:
        return None, problems
    return from_snake(snake, raw, path), []


def load_spec_file(path: Path | str) -> PipelineSpec:
    """One checked spec; raises SpecError listing every problem, as `file: field: message`."""
    path = Path(path)
    spec, problems = check_spec_file(path)
    if spec is None:
        raise SpecError([p.render(str(path)) for p in problems])
    return spec


def load_specs(directory: Path | str | Iterable[Path | str]) -> list[PipelineSpec]:
    """Every spec in a directory (*.json) or in the given files, each checked against the
    CreatePipelineRequest message (unknown fields, types, durations, cmd/image, globs).

    Returns them in file-name order (use dag_order for execution order). Raises SpecError
    with one line per problem over all files. Set-level checks (inputs naming no repo,
    cycles, image pins) are in pachflow.pipeline_spec.validate.
    """
    if isinstance(directory, (str, Path)):
        files = spec_files(directory)
    else:
        files = [Path(f) for f in directory]
    specs: list[PipelineSpec] = []
    problems: list[str] = []
    for path in files:
        spec, found = check_spec_file(path)
        if spec is None:
            problems.extend(p.render(str(path)) for p in found)
        else:
            specs.append(spec)
    if problems:
        raise SpecError(problems)
    return specs
