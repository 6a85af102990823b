"""`pachflow demo` with a fake train pipeline (no Spark): data generated once, put only
when new, the report (run, model version, metrics, lineage), and no work the second time."""

from __future__ import annotations

from click.testing import CliRunner

from pachflow.cli import main

FAKE_TRAIN = """
files = sorted(p.name for p in src.rglob("*") if p.is_file())
manifest = {
    "run_id": "r" * 32, "run_name": "train@" + os.environ["PACH_JOB_ID"],
    "experiment_id": "1", "experiment_name": "pachflow-fraud",
    "tracking_uri": os.environ["MLFLOW_TRACKING_URI"], "model_uri": "runs:/rrr/model",
    "registered_model": {"name": "fraud", "version": 3, "alias": "latest",
                         "uri": "models:/fraud/3"},
    "metrics": {"areaUnderPR": 0.5, "f1": 0.25}, "spark_model_dir": "model", "files": files,
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
    assert "fraud v3 (alias latest)" in out and "areaUnderPR=0.5000" in out
    assert f"sqlite:///{home / 'mlflow.db'}" in out
    assert "Spark           no Spark stage ran" in out  # which Spark the run used
    lineage = out.split("lineage")[1].splitlines()[1:]
    assert [line.split("@")[0].strip() for line in lineage] == ["train", "split", "raw_data"]
    assert "[spec train.spec@" in lineage[0]

    second = CliRunner().invoke(main, args)

    assert second.exit_code == 0, second.output
    assert "generated" not in second.output
    assert "raw_data already holds this data" in second.output
    assert "no work done" in second.output and "nothing to do" in second.output
    assert "fraud v3" in second.output
    assert "Spark  " not in second.output  # nothing ran
