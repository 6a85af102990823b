"""Pachyderm pipeline specs: load, check strictly against pachyderm_sdk's messages, order.

Stable API (the local runner depends on it): load_specs, load_spec_file, dag_order,
PipelineSpec, PfsInput, SecretRef, SpecError. Loaded lazily, so that importing a light
submodule (e.g. pachflow.pipeline_spec.locate) does not import pachyderm_sdk (~1 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pachflow.pipeline_spec.dag import dag_order
    from pachflow.pipeline_spec.errors import SpecError
    from pachflow.pipeline_spec.loader import load_spec_file, load_specs
    from pachflow.pipeline_spec.spec import PfsInput, PipelineSpec, SecretRef

_EXPORTS = {
    "dag_order": "pachflow.pipeline_spec.dag",
    "SpecError": "pachflow.pipeline_spec.errors",
    "load_spec_file": "pachflow.pipeline_spec.loader",
    "load_specs": "pachflow.pipeline_spec.loader",
    "PfsInput": "pachflow.pipeline_spec.spec",
    "PipelineSpec": "pachflow.pipeline_spec.spec",
    "SecretRef": "pachflow.pipeline_spec.spec",
}

__all__ = [
    "PfsInput",
    "PipelineSpec",
    "SecretRef",
    "SpecError",
    "dag_order",
    "load_spec_file",
    "load_specs",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
