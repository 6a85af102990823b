"""`pachflow validate`: every check, over a set of spec files, as rendered problem lines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pachflow.pipeline_spec.dag import find_cycle
from pachflow.pipeline_spec.jsonfile import read_json
from pachflow.pipeline_spec.loader import check_spec_file
from pachflow.pipeline_spec.locate import DEFAULT_INPUT_REPOS, INPUT_REPOS_ENV
from pachflow.pipeline_spec.spec import PipelineSpec
from pachflow.pipeline_spec.stages import (
    StageVersionError,
    find_stages_dir,
    parse_image,
    stage_version,
)


@dataclass
class Report:
    specs: list[PipelineSpec] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_files(
    files: Sequence[Path],
    *,
    input_repos: Iterable[str] = DEFAULT_INPUT_REPOS,
    stages_dir: Path | None = None,
    check_pins: bool = True,
) -> Report:
    """Check each file, then the set: names, inputs, cycles, image tags vs stage versions.

    `stages_dir` defaults to the nearest stages/ above the first file.
    """
    report = Report()
    # Names of pipelines in files that fail other checks still count as pipelines, so one
    # bad file does not also make every downstream input look dangling.
    declared: set[str] = set()
    for path in files:
        spec, problems = check_spec_file(path)
        report.problems.extend(p.render(str(path)) for p in problems)
        if spec is not None:
            report.specs.append(spec)
        else:
            declared.update(_declared_name(path))
    report.problems.extend(check_names(report.specs))
    report.problems.extend(check_inputs(report.specs, set(input_repos), declared))
    report.problems.extend(check_stage_outputs(report.specs))
    cycle = find_cycle(report.specs)
    if cycle is not None:
        first = next(s for s in report.specs if s.name == cycle[0])
        report.problems.append(f"{first.path}: input: pipelines form a cycle: {' -> '.join(cycle)}")
    if check_pins and report.specs:
        if stages_dir is None:
            stages_dir = find_stages_dir(report.specs[0].path.parent)
        report.problems.extend(check_image_pins(report.specs, stages_dir))
    return report


def check_names(specs: Sequence[PipelineSpec]) -> list[str]:
    seen: dict[str, PipelineSpec] = {}
    problems: list[str] = []
    for spec in specs:
        if spec.name in seen:
            problems.append(
                f"{spec.path}: pipeline.name: pipeline {spec.name!r} is also defined in "
                f"{seen[spec.name].path}"
            )
        else:
            seen[spec.name] = spec
    return problems


def _declared_name(path: Path) -> list[str]:
    raw, _ = read_json(path)
    pipeline = raw.get("pipeline") if raw else None
    name = pipeline.get("name") if isinstance(pipeline, dict) else None
    return [name] if isinstance(name, str) and name else []


def check_inputs(
    specs: Sequence[PipelineSpec], input_repos: set[str], declared: Iterable[str] = ()
) -> list[str]:
    """Every pfs input must read a pipeline in the set or a known input repo."""
    pipelines = {spec.name for spec in specs} | set(declared)
    problems: list[str] = []
    for spec in specs:
        for pfs in spec.inputs:
            if pfs.repo in pipelines or pfs.repo in input_repos:
                continue
            known = ", ".join(sorted(pipelines)) or "none"
            repos = ", ".join(sorted(input_repos)) or "none"
            problems.append(
                f"{spec.path}: {pfs.path}.repo: {pfs.repo!r} is neither a pipeline in these "
                f"specs ({known}) nor a known input repo ({repos}; add one with --input-repo "
                f"or ${INPUT_REPOS_ENV})"
            )
    return problems


def check_stage_outputs(specs: Sequence[PipelineSpec]) -> list[str]:
    """A pachflow stage writes into its last argument (OUTPUT_DIR): it must be /pfs/out (or
    below it), else the datum's output lands where no commit takes it (or outside the
    worker's scratch space) and the job commits nothing, silently."""
    problems: list[str] = []
    for spec in specs:
        if parse_image(spec.image).stage is None or len(spec.cmd) < 2:
            continue
        last = spec.cmd[-1]
        if not last.startswith("/"):
            continue  # no OUTPUT_DIR given (an option, a relative path): the stage says so
        if last != "/pfs/out" and not last.startswith("/pfs/out/"):
            problems.append(
                f"{spec.path}: transform.cmd: the stage writes its output to its last "
                f"argument {last!r}: expected /pfs/out (anything written elsewhere is not "
                "committed)"
            )
    return problems


def check_image_pins(specs: Sequence[PipelineSpec], stages_dir: Path | None) -> list[str]:
    """Images named pachflow-<stage> must carry that stage's pyproject version as their tag."""
    problems: list[str] = []
    for spec in specs:
        image = parse_image(spec.image)
        stage = image.stage
        if stage is None:
            continue  # not one of our stage images: nothing to pin it to
        where = f"{spec.path}: transform.image"
        if stages_dir is None:
            problems.append(f"{where}: cannot check the tag of {spec.image}: no stages/ directory")
            continue
        try:
            version = stage_version(stages_dir, stage)
        except StageVersionError as err:
            problems.append(f"{where}: {err}")
            continue
        if image.digest:
            problems.append(
                f"{where}: {spec.image} is pinned by digest; use the tag {version} "
                "(stage version) so `make pin` can keep it current"
            )
        elif image.tag != version:
            found = f"tag {image.tag!r}" if image.tag else "no tag"
            problems.append(
                f"{where}: {spec.image} has {found} but stage {stage} is version {version} "
                f"({stages_dir / stage / 'pyproject.toml'}): run `make pin`"
            )
    return problems
