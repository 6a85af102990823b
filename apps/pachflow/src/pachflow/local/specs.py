"""The runner's view of a pipeline spec, built from pachflow.pipeline_spec (which loads and checks
the specs strictly against pachyderm_sdk's messages)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pachflow.local.unsupported import local_problems
from pachflow.pipeline_spec import PipelineSpec, SpecError, dag_order
from pachflow.pipeline_spec import load_specs as load_checked_specs
from pachflow.pipeline_spec.input_tree import COMBINATIONS, InputNode, fold, pfs_inputs, walk
from pachflow.pipeline_spec.locate import INPUT_REPOS_ENV, default_specs_dir
from pachflow.pipeline_spec.validate import check_stage_outputs
from pachflow_contracts.commits import DEFAULT_BRANCH
from pachflow_store import NotFound

__all__ = [
    "CronInput",
    "LocalSpec",
    "SpecError",
    "default_specs_dir",
    "find_spec",
    "load_specs",
]


@dataclass(frozen=True)
class CronInput:
    """A cron input (pps.proto CronInput) with pachd's defaults: repo `<pipeline>_<name>`."""

    name: str
    repo: str
    spec: str
    overwrite: bool = False
    start: str = ""  # RFC 3339; empty: now


@dataclass(frozen=True)
class LocalSpec:
    name: str
    project: str
    path: Path
    raw: dict[str, Any]
    cmd: tuple[str, ...]
    input: dict[str, Any]  # snake_case input tree
    env: dict[str, str] = field(default_factory=dict)
    secret_env_vars: tuple[str, ...] = ()
    datum_batching: bool = False
    parallelism: int = 1
    datum_tries: int = 3
    datum_timeout_s: float | None = None
    job_timeout_s: float | None = None
    image: str = ""
    err_cmd: tuple[str, ...] = ()
    accept_return_codes: frozenset[int] = frozenset()
    every_job: bool = False  # reprocess_spec "every_job": no datum is ever skipped
    egress_dir: Path | None = None  # egress.URL file://<dir>
    crons: tuple[CronInput, ...] = ()
    s3_out: bool = False  # the output is the bucket `out` of the job's S3 gateway

    @property
    def uses_s3(self) -> bool:
        """pachd runs an S3 gateway for the job (s3 inputs or s3Out)."""
        return self.s3_out or any(pfs.get("s3") for pfs in pfs_inputs(self.input))

    def salt(self) -> str:
        """What makes a datum's result depend on the spec: the transform, the input
        definition and the spec's salt (not parallelism, resources or the description)."""
        part = {"transform": self.raw.get("transform"), "input": self.raw.get("input")}
        if self.raw.get("salt"):
            part["salt"] = self.raw["salt"]
        return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()

    def content(self) -> bytes:
        """The spec as stored in the pipeline's spec repo (canonical JSON)."""
        return (json.dumps(self.raw, sort_keys=True, indent=2) + "\n").encode()


def first_name(tree: dict[str, Any]) -> str:
    """pps.InputName: the name of the first pfs input as written ("" when unnamed; a
    cron input has no case there, so "")."""
    first = next(node for node in walk(tree) if node.kind not in COMBINATIONS)
    return str((first.pfs or {}).get("name") or "")


def pachd_input(tree: dict[str, Any], pipeline: str) -> dict[str, Any]:
    """The input tree as pachd runs it: children of cross/join/group/union stable-sorted by
    first_name (pps.SortInput, before names default to repos), and each cron input turned
    into the pfs input pachd reads it as (its repo on master, glob "/*", create.go)."""

    def leaf(node: InputNode) -> dict[str, Any]:
        if node.cron:
            cron = cron_input(node.cron, pipeline)
            return {
                "pfs": {
                    "name": cron.name,
                    "repo": cron.repo,
                    "branch": DEFAULT_BRANCH,
                    "glob": "/*",
                }
            }
        return node.node

    def combine(node: InputNode, children: list[dict[str, Any]]) -> dict[str, Any]:
        ordered = sorted(zip(node.children(), children, strict=True), key=_first_name_of)
        return {node.kind: [child for _, child in ordered]}

    return fold(tree, leaf, combine)


def _first_name_of(pair: tuple[InputNode, dict[str, Any]]) -> str:
    return first_name(pair[0].node)


def cron_input(cron: dict[str, Any], pipeline: str) -> CronInput:
    return CronInput(
        name=cron["name"],
        repo=cron.get("repo") or f"{pipeline}_{cron['name']}",
        spec=cron.get("spec") or "",
        overwrite=bool(cron.get("overwrite")),
        start=str(cron.get("start") or ""),
    )


def cron_inputs(tree: dict[str, Any], pipeline: str) -> list[CronInput]:
    return [cron_input(node.cron, pipeline) for node in walk(tree) if node.cron]


def unknown_inputs(specs: list[LocalSpec], input_repos: set[str]) -> list[str]:
    """Inputs reading neither a pipeline of `specs` nor one of `input_repos`, as `pachflow
    validate` reports them: such a pipeline would wait forever for a repo nobody fills."""
    pipelines = {spec.name for spec in specs}
    ticked = {cron.repo for spec in specs for cron in spec.crons}  # filled by cron ticks
    problems = []
    for spec in specs:
        for pfs in pfs_inputs(spec.input):
            if pfs["repo"] in pipelines | ticked or pfs["repo"] in input_repos:
                continue
            problems.append(
                f"{spec.path}: input repo {pfs['repo']!r} is neither a pipeline in these specs "
                f"({', '.join(sorted(pipelines))}) nor a repo with data or a known input repo "
                f"({', '.join(sorted(input_repos)) or 'none'}; add one with ${INPUT_REPOS_ENV})"
            )
    return problems


def _duration_s(value: str | None) -> float | None:
    return float(value.rstrip("s")) if value else None


def _egress_dir(spec: PipelineSpec) -> Path | None:
    url = (spec.spec.get("egress") or {}).get("url") or ""
    return Path(url.removeprefix("file://")) if url.startswith("file://") else None


def to_local(spec: PipelineSpec) -> LocalSpec:
    transform = spec.spec.get("transform") or {}
    return LocalSpec(
        name=spec.name,
        project=spec.project,
        path=spec.path,
        raw=spec.raw,
        cmd=spec.cmd,
        input=pachd_input(spec.input, spec.name),
        env={k: str(v) for k, v in spec.env.items()},
        secret_env_vars=tuple(s.env_var for s in spec.secrets if s.env_var),
        datum_batching=spec.datum_batching,
        parallelism=spec.parallelism,
        datum_tries=spec.datum_tries,
        datum_timeout_s=_duration_s(spec.spec.get("datum_timeout")),
        job_timeout_s=_duration_s(spec.spec.get("job_timeout")),
        image=spec.image,
        err_cmd=tuple(transform.get("err_cmd") or ()),
        accept_return_codes=frozenset(int(c) for c in transform.get("accept_return_code") or ()),
        every_job=spec.spec.get("reprocess_spec") == "every_job",
        egress_dir=_egress_dir(spec),
        crons=tuple(cron_inputs(spec.input, spec.name)),
        s3_out=bool(spec.spec.get("s3_out")),
    )


def load_specs(directory: Path | None = None) -> list[LocalSpec]:
    """The specs of `directory` (default: the nearest pipelines/), checked, in DAG order."""
    chosen = directory or default_specs_dir()
    if chosen is None:
        raise SpecError(["no pipelines/ directory with *.json specs here; pass --specs DIR"])
    specs = dag_order(load_checked_specs(chosen))
    problems = [p.render(str(s.path)) for s in specs for p in local_problems(s)]
    problems += check_stage_outputs(specs)  # a stage would write on this machine, not /pfs
    if problems:
        raise SpecError(problems)
    return [to_local(s) for s in specs]


def find_spec(specs: list[LocalSpec], name: str) -> LocalSpec:
    for spec in specs:
        if spec.name == name:
            return spec
    raise NotFound(f"pipeline {name} does not exist (no spec defines it)")
