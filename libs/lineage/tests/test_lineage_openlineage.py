"""The provenance stage's OpenLineage events for a chain Pachyderm ran (chain_events): one
START and one COMPLETE per job at the job's own times, input -> output edges equal to the
lineage graph's, and the MLflow run and model version on the job that tracked it."""

from __future__ import annotations

import json

from openlineage.client.serde import Serde

from pachflow_lineage.openlineage_events import JobEvents, chain_events, configured
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
