"""Every OpenLineage event pachflow emits validates against the official JSON schema of
OpenLineage spec 2-0-2, facets included (pachflow_testing.openlineage_schema: the schema is
read from ../shared/reference/openlineage, which CI has; elsewhere the test skips, saying
so). The events: the local runner's START/COMPLETE/FAIL per job (every pipeline, the score
pipeline included) and the provenance stage's chain events."""

from __future__ import annotations

import json

import pytest
from openlineage.client.serde import Serde

from pachflow_lineage.graph import Job
from pachflow_lineage.openlineage_events import JobEvents, chain_events
from pachflow_testing.lineage_sample import sample_lineage
from pachflow_testing.openlineage_schema import schema_check

FAIL = "sys.exit('boom')\n"
#: What the score stage writes per scored file: predictions and scoring.json naming the model.
SCORE = """
for f in src.rglob("*.csv"):
    (out / f.name).mkdir()
    model = {"name": "fraud", "version": "3", "run_id": "r" * 32,
             "tracking_uri": "http://127.0.0.1:5000"}
    (out / f.name / "scoring.json").write_text(json.dumps({"model": model}))
"""


@pytest.fixture
def problems():
    return schema_check()


def test_the_runners_events_follow_the_schema(
    problems, ol_file, ol_events, put, run, write_spec, copy_stage, script
) -> None:
    write_spec("score", [*script("score", SCORE), "/pfs/transactions", "/pfs/out"], "transactions")
    write_spec("b", [*copy_stage, "/pfs/score", "/pfs/out"], "score", glob="/")
    write_spec(
        "c", [*script("fail", FAIL), "/pfs/transactions", "/pfs/out"], "transactions", datumTries=1
    )
    put("transactions", {"/x.csv": "x"})
    run()
    events = ol_events(ol_file)
    kinds = sorted((e["job"]["name"], e["eventType"]) for e in events)
    assert kinds == [
        ("default/b", "COMPLETE"),
        ("default/b", "START"),
        ("default/c", "FAIL"),
        ("default/c", "START"),
        ("default/score", "COMPLETE"),
        ("default/score", "START"),
    ]
    assert "errorMessage" in next(e for e in events if e["eventType"] == "FAIL")["run"]["facets"]
    scored = next(e for e in events if e["job"]["name"] == "default/score" and e["outputs"])
    assert scored["run"]["facets"]["modelVersion"] | {"_producer": "", "_schemaURL": ""} == {
        "name": "fraud",
        "version": "3",
        "runId": "r" * 32,
        "trackingUri": "http://127.0.0.1:5000",
        "otherVersions": [],
        "_producer": "",
        "_schemaURL": "",
    }
    others = [e for e in events if e is not scored]
    assert all("modelVersion" not in e["run"]["facets"] for e in others)
    for event in events:
        assert problems(event) == [], event


def test_the_provenance_stages_chain_events_follow_the_schema(problems) -> None:
    lineage = sample_lineage()
    [job] = lineage.jobs.values()
    job.created, job.finished = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"
    scorer = Job("score", "e" * 32, state="JOB_SUCCESS")
    lineage.add(scorer)
    lineage.connect("model:fraud/3", scorer.key, "scored")
    failed = sample_lineage()
    [bad] = failed.jobs.values()
    bad.state, bad.reason = "JOB_FAILURE", "datum failed"
    sent = [
        *chain_events(lineage, JobEvents("c1", client=object())),
        *chain_events(failed, JobEvents("c1", client=object())),
    ]
    events = [json.loads(Serde.to_json(e)) for e in sent]
    assert [e["eventType"] for e in events] == [
        *("START", "COMPLETE", "START", "COMPLETE"),
        *("START", "FAIL"),
    ]
    assert "mlflow" in events[1]["run"]["facets"]
    assert "modelVersion" in events[3]["run"]["facets"]
    for event in events:
        assert problems(event) == [], event


def test_a_broken_event_is_caught(problems) -> None:
    """The check itself: an event without a run id, a facet missing its required field."""
    event = json.loads(
        Serde.to_json(
            JobEvents("c1", client=object()).event("FAIL", "score", "a" * 32, [], error="x")
        )
    )
    del event["run"]["runId"]
    del event["run"]["facets"]["errorMessage"]["programmingLanguage"]
    found = problems(event)
    assert any("runId" in p for p in found), found
    assert any("errorMessage" in p and "programmingLanguage" in p for p in found), found
