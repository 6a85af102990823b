"""The whole chain with `pachflow run --runtime podman|docker` (each datum in its stage's
image, on the runner's one code path) gives the same results as `--runtime local` on the
same raw data: same files in every output commit, same Parquet rows, same model metrics.

Both chains run their Spark jobs on the host's Spark (the tests' warm engine, as `--spark
engine` gives a user's runs; that the engine's results equal in-process Spark's is
tests/integration/test_spark_engine.py's subject): the contained etl reads /pfs and writes
/pfs/out through the host paths the runner passes (pachflow_spark.paths), and the contained
train hands the engine its fit sample and gets the saved model back through the shared
TMPDIR. Every etl file goes through Spark (PACHFLOW_ETL_ARROW_MAX_BYTES=0 in etl's spec),
so /pfs crosses to the engine. In-process Spark in an image: test_images_train.

The chain is the DAG's prefix whose stages have code (stages are written in parallel);
the specs are the committed ones with their images retagged to the test registry.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = [pytest.mark.containers, pytest.mark.slow]

DAG = ("split", "etl", "train", "provenance")
#: Stages whose outputs are pure data: every file but timings compared byte for byte.
DATA_STAGES = ("split", "etl")
#: Files whose content names the run (timings, source paths, checksums of those).
RUN_SPECIFIC_SUFFIXES = (".json", ".crc")


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
        if stage == "etl":  # every file through Spark: /pfs crosses to the host's Spark
            spec["transform"].setdefault("env", {})["PACHFLOW_ETL_ARROW_MAX_BYTES"] = "0"
        (into / f"{stage}.json").write_text(json.dumps(spec, indent=2))
    return into


def pachflow(home: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(**_call(home, args, env), capture_output=True, text=True, check=False)


def pachflow_started(home: Path, *args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`pachflow` started in the background, its output (both streams) into `log`."""
    with log.open("w") as out:
        return subprocess.Popen(**_call(home, args, env), stdout=out, stderr=subprocess.STDOUT)


def _call(home: Path, args: tuple[str, ...], env: dict[str, str]) -> dict:
    exe = Path(sys.executable).parent / "pachflow"
    env = {**os.environ, **env, "PACHFLOW_HOME": str(home)}
    return {"args": [str(exe), *args], "env": env, "cwd": home.parent}


def outputs(home: Path, repo: str) -> dict[str, Path]:
    from pachflow_store import Store

    store = Store(home)
    try:
        ref, _ = store.resolve_uri(f"{repo}@master")
        return {f.path: store.file_blob(ref, f.path) for f in store.walk_files(ref)}
    finally:
        store.close()


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ML_UID = re.compile(r"_[0-9a-f]{12}(?=/|$)")  # Spark ML stage uids: DecisionTreeClassifier_<uid>


def normalized(path: str, run_ids: set[str]) -> str:
    """Spark names part files and model stages with random ids, train names a marker
    after its run."""
    if Path(path).name in run_ids:
        return str(Path(path).parent / "<run_id>")
    return ML_UID.sub("_<uid>", UUID.sub("<uuid>", path))


def entries(files: dict[str, Path], run_ids: set[str], top_only: bool) -> list[str]:
    paths = (normalized(p, run_ids) for p in files)
    return sorted({"/" + p.split("/")[1] if top_only else p for p in paths})


def parquet_rows_by_dir(files: dict[str, Path], run_ids: set[str]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for path, blob in files.items():
        if path.endswith(".parquet"):
            table = pq.read_table(blob)
            cols = (table.column(c).to_pylist() for c in table.column_names)
            key = str(Path(normalized(path, run_ids)).parent)
            out.setdefault(key, []).extend(zip(*cols, strict=True))
    return {d: sorted(rows) for d, rows in out.items()}


@pytest.fixture(scope="module")
def chain_runs(images, paysim_dir, tmp_path_factory, request, warm_spark_engine):
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
        homes[runtime] = home
    # Both chains at once (own homes, own processes): part of a chain run is one core's
    # work (interpreter, JVM and container starts), so side by side they finish sooner.
    runs = {
        runtime: pachflow_started(
            home,
            *("run", "--specs", str(specs), "--runtime", runtime, "--spark", warm_spark_engine.url),
            env=env,
            log=root / f"{runtime}.log",
        )
        for runtime, home in homes.items()
    }
    try:
        for runtime, run in runs.items():
            if run.wait() != 0:
                home = homes[runtime]
                output = (root / f"{runtime}.log").read_text()[-5000:]
                logs = "\n".join(pachflow(home, "logs", s, env=env).stdout[-3000:] for s in stages)
                pytest.fail(f"pachflow run --runtime {runtime} failed:\n{output}\n{logs}")
    finally:
        for run in runs.values():  # the other chain, when one failed
            if run.poll() is None:
                run.terminate()
                run.wait(timeout=120)
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
        # data stages: every file; others: the top level (Spark ML names model stages
        # with random uids, provenance names commits)
        top_only = stage not in DATA_STAGES
        names = [entries(files, run_ids, top_only) for files in (got, want)]
        assert names[0] == names[1], stage
        assert parquet_rows_by_dir(got, run_ids) == parquet_rows_by_dir(want, run_ids), stage
        if "/run.json" in want:
            metrics = [json.loads(f["/run.json"].read_text())["metrics"] for f in (got, want)]
            model_metrics = [
                {k: v for k, v in m.items() if not k.endswith("_seconds")} for m in metrics
            ]
            assert model_metrics[0] == model_metrics[1]  # timings aside
            assert len(model_metrics[0]) > 5
        if stage not in DATA_STAGES:
            continue  # train's model and provenance's lineage name runs and commits
        by_name = {normalized(p, run_ids): blob for p, blob in got.items()}
        for path, blob in want.items():
            if not path.endswith((".parquet", *RUN_SPECIFIC_SUFFIXES)):
                other = by_name[normalized(path, run_ids)]
                assert other.read_bytes() == blob.read_bytes(), (stage, path)


def test_container_runtime_ran_the_images(images, chain_runs):
    """The container run really ran in the images: argv kept its /pfs paths (the local
    runtime remaps them into the store's scratch directory)."""
    stages, homes = chain_runs
    contained = pachflow(homes[images.engine], "logs", stages[0], env={}).stdout
    local = pachflow(homes["local"], "logs", stages[0], env={}).stdout
    tries = [line for line in contained.splitlines() if line.startswith("--- try 1/")]
    assert tries and all(" /pfs/out" in line for line in tries), contained[-2000:]
    assert " /pfs/out" not in local


def test_the_contained_spark_jobs_ran_on_the_host_s_spark(images, chain_runs, warm_spark_engine):
    """etl's files went through Spark on the engine (not Arrow, not a JVM in the image),
    and train's run names the engine as its Spark."""
    stages, homes = chain_runs
    said = f"Spark: Spark Connect server {warm_spark_engine.url}"  # when a session opens
    for stage in sorted({"etl", "train"} & set(stages)):
        logs = pachflow(homes[images.engine], "logs", stage, env={}).stdout
        assert said in logs, (stage, logs[-3000:])


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
