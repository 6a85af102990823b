"""The committed pipelines/*.json: valid, pinned to the stages' versions, canonically
formatted, and shaped for a small cluster (minikube) as the design asks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pachflow.pipeline_spec import PipelineSpec, dag_order, load_specs
from pachflow.pipeline_spec.pin import plan_pin
from pachflow.pipeline_spec.stages import parse_image
from pachflow.pipeline_spec.validate import validate_files

PIPELINES = Path(__file__).resolve().parents[3] / "pipelines"
STAGES = PIPELINES.parent / "stages"
SPEC_FILES = sorted(PIPELINES.glob("*.json"))


def _bytes(quantity: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?", quantity)
    assert match, quantity
    factor = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    return int(float(match.group(1)) * factor.get(match.group(2) or "", 1))


def test_committed_specs_are_valid() -> None:
    assert {p.stem for p in SPEC_FILES} >= {"split", "etl", "train"}
    report = validate_files(SPEC_FILES, stages_dir=STAGES)
    assert report.problems == []


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_committed_spec_is_pinned_and_canonical(path: Path) -> None:
    """Fails when a stage version was bumped without `make pin` (or a spec hand-formatted)."""
    change = plan_pin(path, STAGES)
    assert not change.changed, (
        f"{path.name}: run `make pin` ({change.old_image} -> {change.new_image})"
    )


def test_dag_order_of_committed_specs() -> None:
    order = [spec.name for spec in dag_order(load_specs(PIPELINES))]
    # score reads its own input repo (transactions): Pachyderm sees no edge from train to it
    # (the model comes from the MLflow registry), so it may come anywhere.
    assert [name for name in order if name != "score"][:3] == ["split", "etl", "train"]
    assert "score" in order


@pytest.mark.parametrize("spec", load_specs(PIPELINES), ids=lambda s: s.name)
def test_committed_spec_fits_a_small_cluster(spec: PipelineSpec) -> None:
    raw = spec.spec
    assert spec.description, "say in the description what the pipeline does"
    assert spec.cmd[0] == f"pachflow-{parse_image(spec.image).stage}", "runs its stage's CLI"
    assert spec.cmd[-1] == "/pfs/out"
    assert raw.get("datum_tries"), "datumTries set explicitly"
    assert raw.get("datum_timeout", "").endswith("s")
    requests = raw["resource_requests"]
    assert 0 < requests["cpu"] <= 2
    assert _bytes(requests["memory"]) <= 4 * 2**30
    sidecar = raw["sidecar_resource_requests"]
    assert sidecar["cpu"] <= 0.5 and _bytes(sidecar["memory"]) <= 512 * 2**20
    assert raw.get("autoscaling") is True, "idle workers release minikube's resources"
    assert spec.parallelism <= 2


@pytest.mark.parametrize("spec", load_specs(PIPELINES), ids=lambda s: s.name)
def test_no_credentials_in_committed_specs(spec: PipelineSpec) -> None:
    for key in spec.env:
        assert not re.search(r"PASSWORD|TOKEN|SECRET|USERNAME|ACCESS_KEY", key), (
            f"{spec.name}: {key} belongs in transform.secrets, not env"
        )


def test_train_gets_mlflow_settings_from_env_and_credentials_from_the_secret() -> None:
    train = next(s for s in load_specs(PIPELINES) if s.name == "train")
    assert train.env["MLFLOW_TRACKING_URI"].startswith("http")
    by_env = {s.env_var: (s.name, s.key) for s in train.secrets}
    assert by_env == {
        "MLFLOW_TRACKING_USERNAME": ("mlflow-credentials", "username"),
        "MLFLOW_TRACKING_PASSWORD": ("mlflow-credentials", "password"),
    }


@pytest.mark.parametrize(
    "spec",
    [s for s in load_specs(PIPELINES) if "PACHFLOW_SPARK_DRIVER_MEMORY" in s.env],
    ids=lambda s: s.name,
)
def test_spark_driver_heap_fits_the_memory_request(spec: PipelineSpec) -> None:
    """The JVM heap plus ~25% off-heap overhead must stay under the pod's memory request, or
    the worker is the first thing Kubernetes kills when the node is short of memory."""
    heap = spec.env["PACHFLOW_SPARK_DRIVER_MEMORY"]
    match = re.fullmatch(r"(\d+)([mg])", heap.lower())
    assert match, heap
    heap_bytes = int(match.group(1)) * (2**30 if match.group(2) == "g" else 2**20)
    assert heap_bytes * 1.25 <= _bytes(spec.spec["resource_requests"]["memory"])
