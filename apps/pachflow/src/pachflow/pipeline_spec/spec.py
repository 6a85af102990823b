"""PipelineSpec: the parts of a Pachyderm pipeline spec that pachflow acts on, read from a
spec already normalized to snake_case (see schema.to_snake)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pachflow.pipeline_spec.input_tree import walk
from pachflow_contracts.commits import DEFAULT_BRANCH, DEFAULT_PROJECT

# Pachyderm's defaults for fields a spec leaves out (facts/pachyderm.md).
DEFAULT_PARALLELISM = 1
DEFAULT_DATUM_TRIES = 3


@dataclass(frozen=True)
class PfsInput:
    """One pfs input anywhere in the input tree. `name` is what /pfs/<name> and the worker
    env vars use (defaults to the repo); `path` is its JSON path (`input.cross[1].pfs`)."""

    name: str
    repo: str
    branch: str
    glob: str
    project: str
    path: str
    lazy: bool = False
    empty_files: bool = False
    join_on: str = ""
    group_by: str = ""
    outer_join: bool = False


@dataclass(frozen=True)
class SecretRef:
    """transform.secrets[]: a Kubernetes secret key exposed as an env var or a mounted file."""

    name: str
    key: str
    env_var: str = ""
    mount_path: str = ""


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    project: str
    path: Path
    raw: dict[str, Any]  # the JSON exactly as in the file
    spec: dict[str, Any]  # the same, every field key in snake_case (map keys untouched)
    image: str
    cmd: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[SecretRef, ...] = ()
    datum_batching: bool = False
    stdin: tuple[str, ...] = ()
    inputs: tuple[PfsInput, ...] = ()  # every pfs input, depth-first, left to right
    input: dict[str, Any] = field(default_factory=dict)  # the snake_case input tree
    parallelism: int = DEFAULT_PARALLELISM
    datum_tries: int = DEFAULT_DATUM_TRIES
    description: str = ""

    @property
    def input_repos(self) -> tuple[str, ...]:
        """Distinct input repos, in input order."""
        return tuple(dict.fromkeys(i.repo for i in self.inputs))

    @property
    def glob(self) -> str:
        """The glob of a spec with a single pfs input (the common case)."""
        if len(self.inputs) != 1:
            raise ValueError(f"pipeline {self.name} has {len(self.inputs)} pfs inputs, not 1")
        return self.inputs[0].glob


def collect_pfs_inputs(tree: dict[str, Any] | None) -> list[PfsInput]:
    """Every pfs input of a snake_case input tree, depth-first, left to right."""
    return [_pfs_input(node.pfs, f"{node.path}.pfs") for node in walk(tree) if node.pfs]


def _pfs_input(pfs: dict[str, Any], path: str) -> PfsInput:
    repo = pfs.get("repo") or ""
    return PfsInput(
        name=pfs.get("name") or repo,
        repo=repo,
        branch=pfs.get("branch") or DEFAULT_BRANCH,
        glob=pfs.get("glob") or "",
        project=pfs.get("project") or "",
        path=path,
        lazy=bool(pfs.get("lazy")),
        empty_files=bool(pfs.get("empty_files")),
        join_on=pfs.get("join_on") or "",
        group_by=pfs.get("group_by") or "",
        outer_join=bool(pfs.get("outer_join")),
    )


def from_snake(spec: dict[str, Any], raw: dict[str, Any], path: Path) -> PipelineSpec:
    """Build a PipelineSpec from a schema-checked, snake_case spec."""
    pipeline = spec.get("pipeline") or {}
    transform = spec.get("transform") or {}
    project = (pipeline.get("project") or {}).get("name") or DEFAULT_PROJECT
    parallelism = (spec.get("parallelism_spec") or {}).get("constant")
    tries = spec.get("datum_tries")
    return PipelineSpec(
        name=pipeline.get("name") or "",
        project=project,
        path=path,
        raw=raw,
        spec=spec,
        image=transform.get("image") or "",
        cmd=tuple(transform.get("cmd") or ()),
        env=dict(transform.get("env") or {}),
        secrets=tuple(
            SecretRef(
                name=s.get("name") or "",
                key=s.get("key") or "",
                env_var=s.get("env_var") or "",
                mount_path=s.get("mount_path") or "",
            )
            for s in transform.get("secrets") or ()
        ),
        datum_batching=bool(transform.get("datum_batching")),
        stdin=tuple(transform.get("stdin") or ()),
        inputs=tuple(collect_pfs_inputs(spec.get("input"))),
        input=dict(spec.get("input") or {}),
        parallelism=int(parallelism) if parallelism else DEFAULT_PARALLELISM,
        datum_tries=int(tries) if tries else DEFAULT_DATUM_TRIES,
        description=spec.get("description") or "",
    )
