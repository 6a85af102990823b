"""`pachflow demo` with a fake train pipeline (no Spark): data generated once, put only
when new, the report (run, model version, metrics, lineage), the second raw file (datums
run/skipped, both models side by side), and no work the second time."""

from __future__ import annotations

import re

from click.testing import CliRunner

from pachflow.cli import main

FAKE_TRAIN = """
files = sorted(p.name for p in src.rglob("*") if p.is_file())
n = len(files)  # 1 raw file: run r..., version 3; 2 raw files: run s..., version 4
manifest = {
    "run_id": "rs"[n - 1] * 32, "run_name": "train@" + os.environ["PACH_JOB_ID"],
    "experiment_id": "1", "experiment_name": "pachflow-fraud",
    "tracking_uri": os.environ["MLFLOW_TRACKING_URI"], "model_uri": "runs:/rrr/model",
    "registered_model": {"name": "fraud", "version": 2 + n, "alias": "latest",
                         "uri": f"models:/fraud/{2 + n}"},
    "metrics": {"areaUnderPR": 0.5 / n, "f1": 0.25}, "spark_model_dir": "model",
    "files": files,
}
(out / "run.json").write_text(json.dumps(manifest))
"""


def test_demo_runs_reports_and_does_nothing_the_second_time(
    home, write_spec, script, copy_stage, specs_dir
):
    write_spec("split", [*copy_stage, "/pfs/raw_data", "/pfs/out"], "raw_data")
    write_spec("train", [*script("train", FAKE_TRAIN), "/pfs/split", "/pfs/out"], "split", "/")
    args = ["demo", "--rows", "1000", "--specs", str(specs_dir), "-q"]

    first = CliRunner().invoke(main, args)

    assert first.exit_code == 0, first.output
    out = first.output
    assert "generated 1000 rows" in out and "put raw_data@" in out
    assert "MLflow run      " + "r" * 32 in out
    assert "make mlflow-ui" in out
    # the alias as the registry has it (here there is none: the fake train never wrote one)
    assert "fraud v3; registry not read (" in out and "areaUnderPR=0.5000" in out
    assert f"sqlite:///{home / 'mlflow.db'}" in out
    assert "http://127.0.0.1:5000/#/experiments/1/runs/" + "r" * 32 in out
    report, increment = out.split("\nnew data: put raw_data@")
    chain = next(line for line in report.splitlines() if line.startswith("lineage "))
    commits = chain.split(maxsplit=1)[1].split("  <-  ")
    assert [c.split("@")[0] for c in commits] == ["train", "split", "raw_data"]
    assert all(len(c.split("@")[1]) == 12 for c in commits)  # short ids for people
    assert "pachflow lineage run " + "r" * 32 in report  # the full id where it is to be pasted
    # the second, small file: only its datum runs, and a new model shows next to the old
    assert "(50 rows), run again:" in increment
    assert "  split         1 datum(s) run,   1 skipped of 2" in increment
    assert "  train         1 datum(s) run,   0 skipped of 1" in increment
    table, origin = increment.split("the model before and after the new data:")[1].split(
        "the new model came from "
    )
    *rows, shared = table.strip().splitlines()
    assert [line.split() for line in rows] == [
        ["before", "after"],
        ["model", "version", "v3", "v4"],
        ["MLflow", "run", "r" * 12, "s" * 12],
        ["areaUnderPR", "0.5000", "0.2500"],
    ]
    # the fake train writes no held-out scores: the table says so instead of a comparison
    assert shared.strip().startswith("no shared held-out comparison: train@")
    # lineage: which raw files, put in which raw_data commits, the new model came from
    puts = [
        line.split("put raw_data@")[1].split(":")[0]
        for line in out.splitlines()
        if "put raw_data@" in line
    ]
    assert all(len(p) == 12 for p in puts)
    files = [line.split() for line in origin.strip().splitlines()[1:]]
    assert origin.startswith(f"raw_data@{puts[1]}, which holds:")
    assert [(f[0].startswith("/paysim-1000rows"), f[-1]) for f in files] == [
        (True, f"raw_data@{puts[0]})"),
        (False, f"raw_data@{puts[1]})"),
    ]

    second = CliRunner().invoke(main, args)

    assert second.exit_code == 0, second.output
    assert "generated" not in second.output
    assert "raw_data already holds this data" in second.output
    assert "no work done" in second.output and "nothing to do" in second.output
    assert "fraud v4" in second.output and "new data" not in second.output


def test_the_second_run_says_each_pipelines_datum_counts_once(
    home, write_spec, script, copy_stage, specs_dir
):
    write_spec("split", [*copy_stage, "/pfs/raw_data", "/pfs/out"], "raw_data")
    write_spec("train", [*script("train", FAKE_TRAIN), "/pfs/split", "/pfs/out"], "split", "/")

    result = CliRunner().invoke(main, ["demo", "--rows", "1000", "--specs", str(specs_dir)])

    assert result.exit_code == 0, result.output
    increment = result.output.split("\nnew data: put raw_data@")[1]
    for pipeline in ("split", "train"):
        counts = [
            line
            for line in increment.splitlines()
            if re.match(rf"\s*{pipeline}\s.*\b(datums\b|datum\(s\))", line)
        ]
        assert len(counts) == 1, (pipeline, increment)


def test_run_ends_with_the_commits_run_and_model_version_it_made(
    home, write_spec, script, copy_stage, specs_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999/")
    write_spec("split", [*copy_stage, "/pfs/raw_data", "/pfs/out"], "raw_data")
    write_spec("train", [*script("train", FAKE_TRAIN), "/pfs/split", "/pfs/out"], "split", "/")
    (tmp_path / "a.csv").write_text("x\n")
    runner = CliRunner()
    assert runner.invoke(main, ["put", "raw_data", str(tmp_path / "a.csv")]).exit_code == 0

    out = runner.invoke(main, ["run", "--specs", str(specs_dir), "-q"]).output

    produced = out[out.index("produced") :].splitlines()
    assert [line.split("@")[0].strip() for line in produced[1:3]] == ["split", "train"]
    assert "MLflow run      " + "r" * 32 in out
    [model] = [line for line in out.splitlines() if "model version   " in line]
    assert model.strip().startswith("model version   fraud v3; registry not read (MLflow at")
    assert model.endswith("  (models:/fraud/3)")
    assert "MLflow UI       http://127.0.0.1:5999/#/experiments/1/runs/" + "r" * 32 in out

    again = runner.invoke(main, ["run", "--specs", str(specs_dir), "-q"]).output
    assert "produced" not in again and "nothing to do" in again


def test_before_after_table_says_on_which_held_out_customers():
    from pachflow.report.demo import side_by_side
    from pachflow_contracts.run_manifest import RegisteredVersion, RunManifest

    rule = "xxhash64(nameOrig, 42) mod 2^32 < 0.2 * 2^32"

    def manifest(version: int, rows: int, digest: str) -> RunManifest:
        return RunManifest(
            run_id=str(version) * 32,
            registered_model=RegisteredVersion("fraud", str(version), "candidate"),
            metrics={"test_rows": float(rows), "test_areaUnderPR": 0.9},
            holdout={"rule": rule, "digest": digest},
        )

    lines = side_by_side(manifest(1, 4000, "0123456789abcdef"), manifest(2, 4200, "f" * 16))

    table = [line.split() for line in lines]
    assert ["held-out", "customers", "4,000", "4,200"] in table
    assert ["held-out", "set", "digest", "0123456789ab", "f" * 12] in table
    words = " ".join(" ".join(line.split()) for line in lines)
    assert f"held out by customer with one rule ({rule})" in words
    assert "every customer both versions saw is on the same side in both" in words


def test_before_after_table_compares_both_versions_on_their_shared_held_out_customers(
    tmp_path,
):
    """The demo reads each train commit's held-out scores and shows both versions'
    metrics on the customers both held out; a train output without the file says so."""
    import pyarrow as pa

    from pachflow.report.demo import shared_heldout, side_by_side
    from pachflow.report.results import TrainResult
    from pachflow_contracts import heldout_scores as hs
    from pachflow_contracts.run_manifest import RegisteredVersion, RunManifest
    from pachflow_store import Store

    def put(store, name, rows):
        names, labels, scores, preds = zip(*rows, strict=True)
        columns = (hs.CUSTOMER, hs.LABEL, hs.SCORE, hs.PREDICTION)
        path = tmp_path / f"{name}.parquet"
        hs.write(
            pa.table(dict(zip(columns, (names, labels, scores, preds), strict=True))), str(path)
        )
        return store.put_files(f"train-{name}", [("/" + hs.HELDOUT_SCORES, path)])

    manifests = [
        RunManifest(run_id=str(v) * 32, registered_model=RegisteredVersion("fraud", str(v), "c"))
        for v in (1, 2)
    ]
    with Store(tmp_path / "home") as store:
        # v1 held out a..c, v2 b..d: shared b (fraud), c; v1 catches b, v2 misses it.
        one = put(store, "1", [("a", 1, 0.9, 1), ("b", 1, 0.8, 1), ("c", 0, 0.1, 0)])
        two = put(store, "2", [("b", 1, 0.3, 0), ("c", 0, 0.2, 0), ("d", 1, 0.9, 1)])
        old, new = TrainResult(one, manifests[0]), TrainResult(two, manifests[1])
        shared = shared_heldout(store, old, new)
        empty = store.put_files("train-old", [("/run.json", tmp_path / "1.parquet")])
        missing = shared_heldout(store, TrainResult(empty, manifests[0]), new)
    table = [line.split() for line in side_by_side(*manifests, shared)]
    assert ["on", "the", "2", "held-out", "customers", "both", "runs", "share:"] in table
    assert ["frauds", "1", "1"] in table
    assert ["recall", "(prediction)", "1.0000", "0.0000"] in table
    words = " ".join(side_by_side(*manifests, missing))
    assert f"train-old@{empty.id[:12]} has no {hs.HELDOUT_SCORES}" in words
