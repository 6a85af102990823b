"""What `pachflow reproduce --runtime local` refuses before running anything: a stage
version other than the installed one (the run's spec names its image tag)."""

from __future__ import annotations

from importlib import metadata

import pytest

from pachflow.reproduce.plan import Plan, ReproduceError, check_local_stages
from pachflow_lineage.graph import Lineage


def plan(image: str) -> Plan:
    spec = {"pipeline": {"name": "split"}, "transform": {"image": image}}
    return Plan(
        run_id="r" * 32,
        pipeline="split",
        model_version=None,
        lineage=Lineage(subject="run:x", direction="upstream"),
        roots=[],
        specs={"split": spec},
    )


def test_the_installed_stage_version_passes() -> None:
    check_local_stages(plan(f"pachflow/pachflow-split:{metadata.version('pachflow-split')}"))


def test_another_stage_version_is_named() -> None:
    with pytest.raises(ReproduceError) as err:
        check_local_stages(plan("pachflow/pachflow-split:9.9.9"))
    message = str(err.value)
    assert "pipeline split ran image pachflow/pachflow-split:9.9.9" in message
    assert f"the installed pachflow-split is {metadata.version('pachflow-split')}" in message
