"""The provenance stage's OpenLineage events for a chain Pachyderm ran (chain_events): one
START and one COMPLETE per job at the job's own times, input -> output edges equal to the
lineage graph's, and the MLflow run and model version on the job that tracked it."""

from __future__ import annotations

import json

from openlineage.client.serde import Serde

from pachflow_lineage.openlineage_events import JobEvents, chain_events, configured, scoring_model
from pachflow_testing.lineage_sample import sample_lineage


def test_chain_events_match_the_lineage_graph() -> None:
    ln = sample_lineage()
    [job] = ln.jobs.values()
    ln.jobs[job.key].created, ln.jobs[job.key].finished = (
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:01:00Z",
    )
    events = [
        json.loads(Serde.to_json(e)) for e in chain_events(ln, JobEvents("c1", client=object()))
    ]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert [e["eventTime"] for e in events] == ["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"]
    done = events[1]
    assert done["job"] == {"namespace": "pachyderm://c1", "name": "default/train", "facets": {}}
    edges = {(i["name"], o["name"]) for i in done["inputs"] for o in done["outputs"]}
    graph = {
        (ln.commits[i.src].ref.label, ln.commits[o.dst].ref.label)
        for i in ln.edges
        if i.kind == "input"
        for o in ln.edges
        if o.kind == "output" and o.src == i.dst
    }
    assert edges == graph and len(edges) == 1
    mlflow = done["run"]["facets"]["mlflow"]
    assert mlflow["runId"] == "r" * 32 and mlflow["modelVersions"] == ["fraud/3"]
    assert done["run"]["facets"]["pachyderm"]["specCommit"] == "c" * 32


def test_configured_only_by_the_standard_settings() -> None:
    assert not configured({})
    assert configured({"OPENLINEAGE_URL": "http://127.0.0.1:5000"})
    assert configured({"OPENLINEAGE__TRANSPORT__TYPE": "file"})
    assert not configured({"OPENLINEAGE_URL": "http://x", "OPENLINEAGE_DISABLED": "true"})


def test_a_scoring_job_names_the_model_version_that_scored_it() -> None:
    """chain_events of a lineage with a scoring job (a `scored` edge from the model version):
    its COMPLETE carries the `modelVersion` facet: name, version, the training run's id."""
    from pachflow_lineage.graph import Job

    ln = sample_lineage()
    score = Job("score", "e" * 32, state="JOB_SUCCESS")
    ln.add(score)
    ln.connect("model:fraud/3", score.key, "scored")
    events = [
        json.loads(Serde.to_json(e)) for e in chain_events(ln, JobEvents("c1", client=object()))
    ]
    done = {e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE"}
    facet = done["default/score"]["run"]["facets"]["modelVersion"]
    assert (facet["name"], facet["version"], facet["runId"]) == ("fraud", "3", "r" * 32)
    assert facet["otherVersions"] == []
    assert "modelVersion" not in done["default/train"]["run"]["facets"]


def test_the_model_facet_comes_from_scores_records() -> None:
    """One version per scoring job as a rule; if its datums used several (the alias moved
    mid-job) the lowest is named and the others listed; no record with a model: no facet."""
    model = {"name": "fraud", "version": "10", "run_id": "a" * 32, "tracking_uri": "u"}
    assert scoring_model([{"model": model}, {"model": model}]) == {
        "name": "fraud",
        "version": "10",
        "runId": "a" * 32,
        "trackingUri": "u",
        "otherVersions": [],
    }
    earlier = model | {"version": "9", "run_id": "b" * 32}
    both = scoring_model([{"model": model}, {"model": earlier}])
    assert both is not None
    assert (both["version"], both["runId"], both["otherVersions"]) == ("9", "b" * 32, ["fraud/10"])
    assert scoring_model([{"counts": {}}, {"model": "fraud/3"}]) is None
