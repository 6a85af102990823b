"""A reproduction on this machine: a new local store of its own (the user's store, heads
and MLflow aliases are not touched), the original root commits' files put into it, the
original spec versions written out as the specs, one `pachflow run`."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pachflow_store as ps
from pachflow.local.progress import Progress
from pachflow.local.runner import Runner
from pachflow.local.runtime import Runtime
from pachflow.local.specs import load_specs
from pachflow.reproduce.plan import Plan, ReproduceError, image_of
from pachflow_contracts.run_manifest import RUN_JSON, ManifestError, RunManifest


@dataclass
class Reproduction:
    home: Path
    run_id: str
    seconds: float
    train_commit: ps.CommitRef


@contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    """Set what the stages must see; the runner passes these to every datum (they are
    MLflow tracking settings, documented pass-throughs of pachflow.local.env)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_local(
    plan: Plan,
    source: ps.Store,
    home: Path,
    tracking_uri: str,
    runtime: Runtime,
    progress: Progress,
    experiment: str,
) -> Reproduction:
    specs_dir = home / "specs"
    specs_dir.mkdir(parents=True)
    for name, spec in sorted(plan.specs.items()):
        (specs_dir / f"{name}.json").write_text(json.dumps(spec, indent=2) + "\n")
    require = getattr(runtime, "require_image", None)
    if require is not None:
        for name, spec in sorted(plan.specs.items()):
            try:
                require(image_of(spec))
            except OSError as exc:
                raise ReproduceError(
                    f"stage version not available: pipeline {name}: {exc}"
                ) from exc
    started = time.monotonic()
    with ps.Store(home) as store:
        for root in plan.roots:
            ref = ps.CommitRef(root.ref.repo, root.ref.id)
            try:
                manifest = source.manifest(ref)
            except ps.NotFound as exc:
                raise ReproduceError(f"cannot reproduce: commit {root.ref.label} is gone") from exc
            new = store.put_manifest(
                ref.repo, manifest, source.blobs, description=f"copy of {root.ref.label}"
            )
            progress.say(f"reproduce: {root.ref.label} -> {ref.repo}@{new.id} in {home}")
        env = {"MLFLOW_TRACKING_URI": tracking_uri, **plan.tracking_env(experiment)}
        with _env(env):
            summary = Runner(store, load_specs(specs_dir), runtime, progress).run()
        if summary.failed:
            failed = summary.failed[0]
            raise RuntimeError(
                f"reproduction failed: pipeline {failed.pipeline}: {failed.reason} "
                f"(logs: PACHFLOW_HOME={home} pachflow logs {failed.pipeline})"
            )
        head = store.head(plan.pipeline)
        if head is None:
            raise RuntimeError(f"reproduction made no {plan.pipeline} commit")
        train = ps.CommitRef(plan.pipeline, head)
        text = store.file_blob(train, "/" + RUN_JSON).read_bytes()
        try:
            run_id = RunManifest.from_json(text, f"{train}:/{RUN_JSON}").run_id
        except ManifestError as exc:
            raise ReproduceError(f"reproduction in {home}: {exc}") from exc
    return Reproduction(home, run_id, time.monotonic() - started, train)
