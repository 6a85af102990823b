"""Which tests run on the same pytest-xdist worker (`make test` runs two: `-n 2 --dist
loadgroup`), so a costly fixture is built once per session, not once per worker.

A test's group: the group of a costly session fixture that several modules read
(SHARED_GROUP_OF_FIXTURE: the integration chain, the Spark reference run, the container
images...), else its module (its module-scoped fixtures). The cheap session servers (MLflow,
the warm Spark engine, a SparkSession) are started by each worker that needs one, each on a
free port in its worker's own tmp dir.

Why not xdist's own `xdist_group` mark: xdist 3.8 groups by appending "@group" to
`item._nodeid`, which pytest 9 no longer reads (a node's id is `item._id`), so the mark groups
nothing. Here each worker writes {nodeid: group} to a file when it has collected (before it
reports its collection to the controller), and the controller's scheduler
(`--dist loadgroup`, LoadScopeScheduling) reads that file to split the work.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

#: session fixture -> the group of every test that uses it (each costs 5-50 s to build).
SHARED_GROUP_OF_FIXTURE = {
    "local_history": "integration-chain",  # tests/integration: the two-version chain
    "reproduction": "integration-chain",
    "history": "integration-chain",
    "spark_reference": "spark-reference",  # tests/integration: the in-process reference run
    "images": "container-images",  # tests/containers: every stage image, built once
    "local_dag": "local-dag",
    "registered": "score-model",  # stages/score: a fitted, registered model
}
GROUPS_DIR = "pachflow_worker_groups"  # the workerinput key: where workers write their map


def group_of(item: pytest.Item) -> str:
    used = set(getattr(item, "fixturenames", ())) & SHARED_GROUP_OF_FIXTURE.keys()
    shared = sorted({SHARED_GROUP_OF_FIXTURE[f] for f in used})
    return shared[0] if shared else item.nodeid.split("::", 1)[0]


def write_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a worker: {nodeid: [group, marked slow]} of every collected test, for the
    controller."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if not workerinput or GROUPS_DIR not in workerinput:
        return
    target = Path(workerinput[GROUPS_DIR]) / f"{workerinput['workerid']}.json"
    partial = target.with_suffix(".part")
    groups = {
        item.nodeid: [group_of(item), item.get_closest_marker("slow") is not None] for item in items
    }
    partial.write_text(json.dumps(groups))
    partial.replace(target)  # whole or absent


class _Hooks:
    """Controller-side hooks, registered only when xdist runs with `--dist loadgroup`."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pachflow-worker-groups-"))

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[GROUPS_DIR] = str(self.dir)

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

        groups_dir = self.dir

        class FixtureGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
            """LoadScopeScheduling whose scope is the test's group (write_groups), and the
            groups holding slow tests handed out first after the first units (xdist's order
            is by size): a minute-long test started last would leave the other worker idle."""

            groups: dict[str, list[Any]] | None = None

            def _read(self) -> dict[str, list[Any]]:
                if self.groups is None:  # every worker has collected: its file is there
                    self.groups = {}
                    for written in sorted(groups_dir.glob("*.json")):
                        self.groups.update(json.loads(written.read_text()))
                return self.groups

            def _split_scope(self, nodeid: str) -> str:
                group = self._read().get(nodeid)
                return str(group[0]) if group else nodeid.split("::", 1)[0]

            def schedule(self) -> None:
                first = self.collection is None
                super().schedule()
                if not first or not self.workqueue:
                    return
                slow = {g for g, is_slow in self._read().values() if is_slow}
                ranked = sorted(self.workqueue.items(), key=lambda unit: unit[0] not in slow)
                self.workqueue.clear()
                self.workqueue.update(ranked)

        return FixtureGroupScheduling(config, log)

    def pytest_unconfigure(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def register(config: pytest.Config) -> None:
    """On the controller of an xdist `--dist loadgroup` run: hand the workers a directory
    and schedule by the groups they write there."""
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("xdist"):
        return
    if config.getoption("dist", "no") != "loadgroup" or not config.getoption("numprocesses"):
        return
    config.pluginmanager.register(_Hooks(), "pachflow-worker-groups")
