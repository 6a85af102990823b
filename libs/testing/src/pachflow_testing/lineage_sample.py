"""A small lineage graph with one node of every kind (data commit, spec commit, job,
datum, MLflow run, model version) and every edge kind between them, built from the real
model classes: for renderer and event tests that need no store or server."""

from __future__ import annotations

from pachflow_contracts.commits import SPEC, CommitRef
from pachflow_lineage.graph import (
    Commit,
    Datum,
    FileEntry,
    Job,
    Lineage,
    ModelVersion,
    Run,
)


def sample_lineage() -> Lineage:
    raw, split, spec = "a" * 32, "b" * 32, "c" * 32
    ln = Lineage(subject=f"run:{'r' * 32}", direction="upstream")
    ln.add(
        Commit(
            CommitRef("raw_data", raw), origin="USER", size=10, files=[FileEntry("x.csv", 10, "ab")]
        )
    )
    ln.add(Commit(CommitRef("train", spec, repo_type=SPEC), origin="USER"))
    ln.add(Commit(CommitRef("train", split), origin="AUTO", metadata={"mlflow.run_id": "r" * 32}))
    job = Job("train", split, state="JOB_SUCCESS", data_processed=1, data_total=1)
    datum = Datum("train", split, "d" * 64, state="SUCCESS")
    run = Run(
        "r" * 32,
        name="train@x <script>",
        status="FINISHED",
        url="http://127.0.0.1:5000/#/runs/r",
        metrics={
            "test_areaUnderPR": 0.9912,
            "test_f1_at_best": 0.95,
            "test_best_f1_threshold": 0.61,
            "test_precision_at_best": 0.97,
            "test_recall_at_best": 0.93,
            **{f"importance.f{i:02d}": i / 100 for i in range(20)},  # many, less important
        },
    )
    mv = ModelVersion(
        "fraud",
        "3",
        run_id="r" * 32,
        aliases=["candidate"],
        url="http://127.0.0.1:5000/#/models/fraud/versions/3",
    )
    for node in (job, datum, run, mv):
        ln.add(node)
    ln.connect(f"commit:raw_data@{raw}", job.key, "input")
    ln.connect(f"commit:train.spec@{spec}", job.key, "spec")
    ln.connect(job.key, f"commit:train@{split}", "output")
    ln.connect(job.key, datum.key, "datum")
    ln.connect(datum.key, run.key, "tracked")
    ln.connect(run.key, mv.key, "registered")
    ln.info["job"] = f"train@{split}"
    return ln
