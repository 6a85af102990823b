"""The pipeline DAG: edges from each pipeline to the pipelines whose output repos it reads.
The one topological order of pipelines: specs as loaded (dag_order) or any pipeline ->
input repos mapping, e.g. spec versions read back from a cluster (pipeline_order)."""

from __future__ import annotations

import graphlib
from collections.abc import Collection, Mapping, Sequence

from pachflow.pipeline_spec.errors import SpecError
from pachflow.pipeline_spec.spec import PipelineSpec

# pipeline name -> the repos it reads (those that are pipelines' outputs make the edges)
Reads = Mapping[str, Collection[str]]


def find_cycle(specs: Sequence[PipelineSpec]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None."""
    return _cycle(_reads(specs))


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
    return [by_name[name] for name in pipeline_order(_reads(specs))]


def pipeline_order(reads: Reads) -> list[str]:
    """The pipelines of `reads` (pipeline -> its input repos) in topological order: each
    after the pipelines whose output repos it reads; a repo that is not a key is data.

    Ties keep the mapping's order, so the result is deterministic. SpecError on a cycle.
    """
    cycle = _cycle(reads)
    if cycle is not None:
        raise SpecError([f"pipelines form a cycle: {' -> '.join(cycle)}"])
    position = {name: index for index, name in enumerate(reads)}
    sorter = _sorter(reads)
    sorter.prepare()
    ordered: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        ordered.extend(ready)
        sorter.done(*ready)
    return ordered


def _reads(specs: Sequence[PipelineSpec]) -> dict[str, tuple[str, ...]]:
    return {spec.name: spec.input_repos for spec in specs}


def _cycle(reads: Reads) -> list[str] | None:
    try:
        _sorter(reads).prepare()
    except graphlib.CycleError as err:
        cycle = list(err.args[1])
        # graphlib reports the cycle walking successors; show it in data-flow order.
        return cycle[::-1]
    return None


def _sorter(reads: Reads) -> graphlib.TopologicalSorter[str]:
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name, repos in reads.items():
        sorter.add(name, *(repo for repo in repos if repo in reads))
    return sorter
