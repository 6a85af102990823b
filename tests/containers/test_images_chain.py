"""The whole chain with `pachflow run --runtime podman|docker` (each datum in its stage's
image, on the runner's one code path) gives the same results as `--runtime local` on the
same raw data: same files in every output commit, same Parquet rows, same model metrics.

The chain is the DAG's prefix whose stages have code (stages are written in parallel);
the specs are the committed ones with their images retagged to the test registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.containers

DAG = ("split", "etl", "train", "provenance")
#: Files whose content names the run (ids, timings, tracking URIs): compared by name only.
RUN_SPECIFIC_SUFFIXES = (".json", ".crc", ".log", ".png", ".html", ".txt", ".yaml", "MLmodel")


def chain(images) -> list[str]:
    stages = []
    for stage in DAG:
        if not (images.repo / "pipelines" / f"{stage}.json").is_file():
            break
        if not (images.repo / "stages" / stage / "src" / f"pachflow_{stage}" / "cli.py").is_file():
            break
        stages.append(stage)
    return stages


def write_specs(images, stages: list[str], into: Path) -> Path:
    into.mkdir()
    for stage in stages:
        spec = images.spec(stage)
        spec["transform"]["image"] = images.tag(stage)
        (into / f"{stage}.json").write_text(json.dumps(spec, indent=2))
    return into


def pachflow(home: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "pachflow"
    return subprocess.run(
        [str(exe), *args],
        env={**os.environ, **env, "PACHFLOW_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
        cwd=home.parent,
    )


def outputs(home: Path, repo: str) -> dict[str, Path]:
    from pachflow_store import Store

    store = Store(home)
    try:
        ref, _ = store.resolve_uri(f"{repo}@master")
        return {f.path: store.file_blob(ref, f.path) for f in store.walk_files(ref)}
    finally:
        store.close()


def sorted_rows(path: Path) -> list[tuple]:
    table = pq.read_table(path)
    return sorted(zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True))


def run_marker_free(files: dict[str, Path], run_ids: set[str]) -> set[str]:
    return {p for p in files if Path(p).name not in run_ids}


@pytest.fixture(scope="module")
def chain_runs(images, paysim_dir, tmp_path_factory, request):
    stages = chain(images)
    if not stages:
        pytest.skip("no stage of the DAG has code yet")
    env: dict[str, str] = {}
    if "train" in stages:
        env["MLFLOW_TRACKING_URI"] = request.getfixturevalue("mlflow_tracking_uri")
    root = tmp_path_factory.mktemp("chain")
    specs = write_specs(images, stages, root / "specs")
    homes = {}
    for runtime in ("local", images.engine):
        home = root / runtime / "home"
        home.mkdir(parents=True)
        files = [str(p) for p in sorted(paysim_dir.iterdir())]
        put = pachflow(home, "put", "raw_data", *files, env=env)
        assert put.returncode == 0, put.stderr
        run = pachflow(home, "run", "--specs", str(specs), "--runtime", runtime, env=env)
        if run.returncode != 0:
            logs = "\n".join(pachflow(home, "logs", s, env=env).stdout[-3000:] for s in stages)
            pytest.fail(f"pachflow run --runtime {runtime} failed:\n{run.stderr}\n{logs}")
        homes[runtime] = home
    return stages, homes


def test_container_runtime_matches_local(images, chain_runs):
    stages, homes = chain_runs
    local, contained = homes["local"], homes[images.engine]
    run_ids: set[str] = set()
    for stage in stages:
        want, got = outputs(local, stage), outputs(contained, stage)
        for files in (want, got):
            if "/run.json" in files:
                run_ids.add(json.loads(files["/run.json"].read_text())["run_id"])
        assert run_marker_free(got, run_ids) == run_marker_free(want, run_ids), stage
        for path, blob in want.items():
            if path.endswith(".parquet"):
                assert sorted_rows(got[path]) == sorted_rows(blob), (stage, path)
            elif path == "/run.json":
                assert (
                    json.loads(got[path].read_text())["metrics"]
                    == json.loads(blob.read_text())["metrics"]
                )
            elif not path.endswith(RUN_SPECIFIC_SUFFIXES) and Path(path).name not in run_ids:
                assert got[path].read_bytes() == blob.read_bytes(), (stage, path)


def test_container_runtime_ran_the_images(images, chain_runs):
    """The container run really ran in the images: argv kept its /pfs paths (the local
    runtime remaps them into the store's scratch directory)."""
    stages, homes = chain_runs
    contained = pachflow(homes[images.engine], "logs", stages[0], env={}).stdout
    local = pachflow(homes["local"], "logs", stages[0], env={}).stdout
    tries = [line for line in contained.splitlines() if line.startswith("--- try 1/")]
    assert tries and all(" /pfs/out" in line for line in tries), contained[-2000:]
    assert " /pfs/out" not in local


def test_missing_image_fails_the_datum_with_a_clear_reason(images, paysim_dir, tmp_path):
    spec = images.spec("split")
    spec["transform"]["image"] = "localhost/pachflow-test/does-not-exist:0"
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "split.json").write_text(json.dumps(spec))
    home = tmp_path / "home"
    home.mkdir()
    first = sorted(paysim_dir.iterdir())[0]
    assert pachflow(home, "put", "raw_data", str(first), env={}).returncode == 0
    run = pachflow(home, "run", "--specs", str(specs), "--runtime", images.engine, env={})
    assert run.returncode == 1
    logs = pachflow(home, "logs", "split", env={}).stdout
    assert "does-not-exist:0 not found" in logs and "make images" in logs
