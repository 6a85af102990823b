"""The runner's view of a pipeline spec, built from pachflow.pipeline_spec (which loads and checks
the specs strictly against pachyderm_sdk's messages)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pachflow.pipeline_spec import PipelineSpec, SpecError, dag_order
from pachflow.pipeline_spec import load_specs as load_checked_specs
from pachflow.pipeline_spec.locate import default_specs_dir
from pachflow_store import NotFound

__all__ = ["LocalSpec", "SpecError", "default_specs_dir", "find_spec", "load_specs", "pfs_inputs"]


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
    image: str = ""

    @property
    def input_repos(self) -> list[str]:
        return [pfs["repo"] for pfs in pfs_inputs(self.input)]

    def salt(self) -> str:
        """What makes a datum's result depend on the spec: the transform and the input
        definition (not parallelism, resources or the description)."""
        part = {"transform": self.raw.get("transform"), "input": self.raw.get("input")}
        return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()

    def content(self) -> bytes:
        """The spec as stored in the pipeline's spec repo (canonical JSON)."""
        return (json.dumps(self.raw, sort_keys=True, indent=2) + "\n").encode()


def pfs_inputs(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every pfs input of a snake_case input tree, depth-first, left to right."""
    if "pfs" in node:
        return [node["pfs"]]
    found: list[dict[str, Any]] = []
    for kind in ("cross", "union", "join", "group"):
        for child in node.get(kind) or []:
            found.extend(pfs_inputs(child))
    return found


def _duration_s(value: str | None) -> float | None:
    return float(value.rstrip("s")) if value else None


def to_local(spec: PipelineSpec) -> LocalSpec:
    return LocalSpec(
        name=spec.name,
        project=spec.project,
        path=spec.path,
        raw=spec.raw,
        cmd=spec.cmd,
        input=spec.input,
        env={k: str(v) for k, v in spec.env.items()},
        secret_env_vars=tuple(s.env_var for s in spec.secrets if s.env_var),
        datum_batching=spec.datum_batching,
        parallelism=spec.parallelism,
        datum_tries=spec.datum_tries,
        datum_timeout_s=_duration_s(spec.spec.get("datum_timeout")),
        image=spec.image,
    )


def load_specs(directory: Path | None = None) -> list[LocalSpec]:
    """The specs of `directory` (default: the nearest pipelines/), checked, in DAG order."""
    chosen = directory or default_specs_dir()
    if chosen is None:
        raise SpecError(["no pipelines/ directory with *.json specs here; pass --specs DIR"])
    return [to_local(s) for s in dag_order(load_checked_specs(chosen))]


def find_spec(specs: list[LocalSpec], name: str) -> LocalSpec:
    for spec in specs:
        if spec.name == name:
            return spec
    raise NotFound(f"pipeline {name} does not exist (no spec defines it)")
