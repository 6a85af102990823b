"""`pachflow run` sends OpenLineage RunEvents (START, then COMPLETE or FAIL) for every job,
through the openlineage-python client configured the standard way (here: its file
transport from OPENLINEAGE__TRANSPORT__* variables), and the events' input -> output edges
are exactly the lineage graph's (`pachflow lineage commit ... --upstream`)."""

from __future__ import annotations

import uuid

from pachflow_contracts.commits import CommitRef
from pachflow_lineage.backends.local import LocalBackend
from pachflow_lineage.openlineage_events import configured

FAIL = "sys.exit('boom')\n"


def check_event(event: dict) -> None:
    """The RunEvent fields the OpenLineage spec requires, and that the client's own model
    reads the event back (openlineage.client.event_v2, generated from the spec)."""
    from openlineage.client.event_v2 import RunEvent, RunState

    assert event["schemaURL"].startswith("https://openlineage.io/spec/")
    assert event["producer"] and event["eventTime"]
    assert RunState[event["eventType"]]
    uuid.UUID(event["run"]["runId"])
    assert event["job"]["namespace"] == "pachyderm://local" and event["job"]["name"]
    for d in event["inputs"] + event["outputs"]:
        assert d["namespace"] == "pachyderm://local" and "@" in d["name"]
    for facet in event["run"]["facets"].values():
        assert facet["_producer"] and facet["_schemaURL"].startswith("https://openlineage.io/")
    assert RunEvent.__name__  # the model the client sends is the one read here


def test_every_job_sends_start_and_complete_with_the_lineage_edges(
    ol_file, ol_events, store, put, run, write_spec, copy_stage
):
    assert configured()
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw")
    write_spec("b", [*copy_stage, "/pfs/a", "/pfs/out"], "a", glob="/")
    raw = put("raw", {"/x.txt": "x"})
    summary = run()
    job = summary.commit_sets[0]
    got = ol_events(ol_file)
    for e in got:
        check_event(e)
    states = [(e["job"]["name"], e["eventType"]) for e in got]
    assert states == [
        ("default/a", "START"),
        ("default/a", "COMPLETE"),
        ("default/b", "START"),
        ("default/b", "COMPLETE"),
    ]
    assert {e["run"]["runId"] for e in got} == {str(uuid.UUID(hex=job))}
    assert got[1]["run"]["facets"]["pachyderm"]["specCommit"] == store.head("a", "spec")

    # edges of the COMPLETE events == input/output edges of the lineage graph
    ol_edges = {
        (i["name"], e["job"]["name"].split("/")[1], o["name"])
        for e in got
        if e["eventType"] == "COMPLETE"
        for i in e["inputs"]
        for o in e["outputs"]
    }
    from pachflow_lineage.resolve import Resolver

    lineage = Resolver(LocalBackend(store), tracking=None).upstream_of_commit(CommitRef("b", job))
    graph_edges = {
        (lineage.commits[e.src].ref.label, job_key.split(":")[1].split("@")[0], out)
        for e in lineage.edges
        if e.kind == "input"
        for job_key in [e.dst]
        for o in lineage.edges
        if o.kind == "output" and o.src == job_key
        for out in [lineage.commits[o.dst].ref.label]
    }
    assert (
        ol_edges
        == graph_edges
        == {
            (f"raw@{raw.id}", "a", f"a@{job}"),
            (f"a@{job}", "b", f"b@{job}"),
        }
    )


def test_a_failed_job_sends_fail_with_the_reason(ol_file, ol_events, put, run, write_spec, script):
    write_spec("a", [*script("fail", FAIL), "/pfs/raw", "/pfs/out"], "raw", datumTries=1)
    put("raw", {"/x.txt": "x"})
    run()
    got = ol_events(ol_file)
    for e in got:
        check_event(e)
    assert [e["eventType"] for e in got] == ["START", "FAIL"]
    assert got[1]["outputs"] == []
    assert "datum(s) failed" in got[1]["run"]["facets"]["errorMessage"]["message"]


def test_off_by_default(store, put, run, write_spec, copy_stage, tmp_path, monkeypatch):
    for key in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    assert not configured()
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw")
    put("raw", {"/x.txt": "x"})
    run()
    assert not list(tmp_path.rglob("*.ndjson"))
