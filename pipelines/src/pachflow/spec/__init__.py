"""Pachyderm pipeline specs: load, check strictly against pachyderm_sdk's messages, order.

Stable API (the local runner depends on it): load_specs, load_spec_file, dag_order,
PipelineSpec, PfsInput, SecretRef, SpecError. Loaded lazily, so that importing a light
submodule (e.g. pachflow.spec.locate) does not import pachyderm_sdk (~1 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pachflow.spec.dag import dag_order
    from pachflow.spec.errors import SpecError
    from pachflow.spec.loader import load_spec_file, load_specs
    from pachflow.spec.model import PfsInput, PipelineSpec, SecretRef

_EXPORTS = {
    "dag_order": "pachflow.spec.dag",
    "SpecError": "pachflow.spec.errors",
    "load_spec_file": "pachflow.spec.loader",
    "load_specs": "pachflow.spec.loader",
    "PfsInput": "pachflow.spec.model",
    "PipelineSpec": "pachflow.spec.model",
    "SecretRef": "pachflow.spec.model",
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
