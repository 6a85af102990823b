"""Pachyderm pipeline specs: load, check strictly against pachyderm_sdk's messages, order.

Stable API (the local runner depends on it): load_specs, load_spec_file, dag_order,
PipelineSpec, PfsInput, SecretRef, SpecError.
"""

from pachflow.spec.dag import dag_order
from pachflow.spec.errors import SpecError
from pachflow.spec.loader import load_spec_file, load_specs
from pachflow.spec.model import PfsInput, PipelineSpec, SecretRef

__all__ = [
    "PfsInput",
    "PipelineSpec",
    "SecretRef",
    "SpecError",
    "dag_order",
    "load_spec_file",
    "load_specs",
]
