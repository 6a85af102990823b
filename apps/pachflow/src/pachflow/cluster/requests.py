"""What pachflow sends to pachd, built from loaded specs with pachyderm_sdk's own message
types (kept free of I/O so it can be tested without a cluster)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pachyderm_sdk.api import pfs, pps
from pachyderm_sdk.api.pps import CreatePipelineRequest

from pachflow.pipeline_spec.dag import dag_order
from pachflow.pipeline_spec.schema import to_camel
from pachflow.pipeline_spec.spec import PipelineSpec
from pachflow_contracts.commits import DEFAULT_BRANCH, DEFAULT_PROJECT


def pipeline_request_json(spec: PipelineSpec) -> str:
    """The CreatePipelineRequest JSON for create_pipeline_v2: the spec as written, in the
    canonical camelCase spelling (pachd applies its cluster defaults to what is missing)."""
    return json.dumps(to_camel(spec.spec, CreatePipelineRequest))


def same_spec(info: pps.PipelineInfo, request_json: str) -> bool:
    """Whether a deployed pipeline was created from exactly this request: pachd keeps the
    JSON it was given as `user_spec_json`. Unparseable or absent -> not the same."""
    try:
        return bool(info.user_spec_json) and json.loads(info.user_spec_json) == json.loads(
            request_json
        )
    except json.JSONDecodeError:
        return False


def pipeline_ref(spec: PipelineSpec) -> pps.Pipeline:
    return pps.Pipeline(name=spec.name, project=pfs.Project(name=spec.project))


@dataclass(frozen=True)
class InputRepo:
    """A repo the pipelines read that no pipeline produces: deploy creates it if missing."""

    name: str
    project: str
    branch: str

    @property
    def repo(self) -> pfs.Repo:
        return pfs.Repo(name=self.name, type="user", project=pfs.Project(name=self.project))

    @property
    def branch_ref(self) -> pfs.Branch:
        return pfs.Branch(repo=self.repo, name=self.branch)


def input_repos(specs: Sequence[PipelineSpec]) -> list[InputRepo]:
    """Distinct input repos that are not pipeline outputs, in DAG order."""
    produced = {(spec.project, spec.name) for spec in specs}
    found: dict[tuple[str, str], InputRepo] = {}
    for spec in dag_order(specs):
        for pfs_input in spec.inputs:
            # An input's project defaults to the pipeline's own project.
            project = pfs_input.project or spec.project
            key = (project, pfs_input.repo)
            if key in produced or key in found:
                continue
            found[key] = InputRepo(name=pfs_input.repo, project=project, branch=pfs_input.branch)
    return list(found.values())


def projects(specs: Sequence[PipelineSpec]) -> list[str]:
    """Every project the specs use, the default one first."""
    names = {DEFAULT_PROJECT}
    for spec in specs:
        names.add(spec.project)
        names.update(i.project for i in spec.inputs if i.project)
    return sorted(names, key=lambda n: (n != DEFAULT_PROJECT, n))


def branch_for_put(
    repo: str, project: str = DEFAULT_PROJECT, branch: str = DEFAULT_BRANCH
) -> pfs.Branch:
    """The branch `pachflow cluster put` commits to (`repo@master` by default)."""
    return pfs.Branch(
        repo=pfs.Repo(name=repo, type="user", project=pfs.Project(name=project)), name=branch
    )


def put_paths(files: Sequence[Path]) -> list[tuple[Path, str]]:
    """(local file, repo path) for `cluster put`: each file at /<its name>. Two files with
    the same name would overwrite each other in one commit: ValueError naming them."""
    targets = [(path, f"/{path.name}") for path in files]
    seen: dict[str, Path] = {}
    for path, target in targets:
        if target in seen:
            raise ValueError(f"{seen[target]} and {path} would both be put at {target}")
        seen[target] = path
    return targets
