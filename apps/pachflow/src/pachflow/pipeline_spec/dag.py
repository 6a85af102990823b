"""The pipeline DAG: edges from each pipeline to the pipelines whose output repos it reads."""

from __future__ import annotations

import graphlib
from collections.abc import Sequence

from pachflow.pipeline_spec.errors import SpecError
from pachflow.pipeline_spec.model import PipelineSpec


def upstream_pipelines(spec: PipelineSpec, names: set[str]) -> list[str]:
    """The pipelines among `names` that `spec` reads from (its input repos that are pipelines)."""
    return [repo for repo in spec.input_repos if repo in names]


def find_cycle(specs: Sequence[PipelineSpec]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None."""
    try:
        _sorter(specs).prepare()
    except graphlib.CycleError as err:
        cycle = list(err.args[1])
        # graphlib reports the cycle walking successors; show it in data-flow order.
        return cycle[::-1]
    return None


def dag_order(specs: Sequence[PipelineSpec]) -> list[PipelineSpec]:
    """The specs in topological order (every pipeline after the pipelines it reads from).

    Ties keep the given order, so the result is deterministic. Raises SpecError on a cycle
    or on two specs with the same pipeline name.
    """
    by_name: dict[str, PipelineSpec] = {}
    for spec in specs:
        if spec.name in by_name:
            raise SpecError(
                [
                    f"{spec.path}: pipeline.name: pipeline {spec.name!r} is also defined in "
                    f"{by_name[spec.name].path}"
                ]
            )
        by_name[spec.name] = spec
    cycle = find_cycle(specs)
    if cycle is not None:
        raise SpecError([f"pipelines form a cycle: {' -> '.join(cycle)}"])
    position = {spec.name: index for index, spec in enumerate(specs)}
    sorter = _sorter(specs)
    sorter.prepare()
    ordered: list[PipelineSpec] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        for name in ready:
            ordered.append(by_name[name])
            sorter.done(name)
    return ordered


def _sorter(specs: Sequence[PipelineSpec]) -> graphlib.TopologicalSorter[str]:
    names = {spec.name for spec in specs}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for spec in specs:
        sorter.add(spec.name, *upstream_pipelines(spec, names))
    return sorter
