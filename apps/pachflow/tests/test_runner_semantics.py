"""Pachyderm's semantics in `pachflow run`: commit sets with one global id, direct
provenance (inputs + spec commit), the spec repo, skipping of unchanged datums."""

from __future__ import annotations

from pachflow.local.runner import SUCCESS, UP_TO_DATE
from pachflow_store import DATUM_SKIPPED, DATUM_SUCCESS, ORIGIN_AUTO, SPEC, CommitRef, is_commit_id


def files_of(store, repo: str) -> dict[str, str]:
    ref = store.resolve(repo)
    return {f.path: store.file_blob(ref, f.path).read_text() for f in store.walk_files(ref)}


def test_one_run_is_one_commit_set_and_inputs_keep_their_ids(
    store, put, run, write_spec, copy_stage
):
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw")
    write_spec("b", [*copy_stage, "/pfs/a", "/pfs/out"], "a", glob="/")
    raw = put("raw", {"/x.txt": "x", "/y.txt": "y"})

    summary = run()

    assert [o.status for o in summary.outcomes] == [SUCCESS, SUCCESS]
    run_id = summary.commit_sets[0]
    assert is_commit_id(run_id) and is_commit_id(raw.id) and run_id != raw.id
    # jobs and the output commits they created share the run's id
    assert {(j.pipeline, j.id, j.state) for j in store.list_jobs()} == {
        ("a", run_id, "JOB_SUCCESS"),
        ("b", run_id, "JOB_SUCCESS"),
    }
    members = {str(c.commit) for c in store.inspect_commit_set(run_id)}
    assert members == {f"a@{run_id}", f"b@{run_id}", f"a.spec@{run_id}", f"b.spec@{run_id}"}
    # the input kept its own id
    assert store.head("raw") == raw.id
    assert files_of(store, "b") == {"/x.txt.out.out": "x", "/y.txt.out.out": "y"}


def test_output_commit_records_direct_provenance_inputs_and_spec(
    store, put, run, write_spec, copy_stage
):
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw")
    raw = put("raw", {"/x.txt": "x"})
    run_id = run().commit_sets[0]

    info = store.inspect_commit(CommitRef("a", run_id))

    assert info.origin == ORIGIN_AUTO
    assert set(info.provenance) == {raw, CommitRef("a", run_id, repo_type=SPEC)}
    spec_file = store.file_blob(CommitRef("a", run_id, repo_type=SPEC), "/spec.json").read_text()
    assert '"name": "a"' in spec_file
    assert store.inspect_commit(raw).subvenance == [CommitRef("a", run_id)]


def test_unchanged_inputs_do_nothing_and_new_files_only_process_new_datums(
    store, put, run, write_spec, copy_stage
):
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw")
    put("raw", {"/x.txt": "x", "/y.txt": "y"})
    first = run().commit_sets[0]

    again = run()
    assert not again.did_work and again.outcomes[0].status == UP_TO_DATE
    assert [j.id for j in store.list_jobs("a")] == [first]

    put("raw", {"/z.txt": "z"})
    third = run()
    outcome = third.outcomes[0]
    assert (outcome.processed, outcome.skipped, outcome.total) == (1, 2, 3)
    # skipped datums' earlier output is reused in the new output commit
    assert files_of(store, "a") == {"/x.txt.out": "x", "/y.txt.out": "y", "/z.txt.out": "z"}
    states = {d.files[0]: (d.state, d.reused_from) for d in store.list_datums("a", outcome.job_id)}
    assert states == {
        "raw:/x.txt": (DATUM_SKIPPED, first),
        "raw:/y.txt": (DATUM_SKIPPED, first),
        "raw:/z.txt": (DATUM_SUCCESS, None),
    }


def test_changed_file_content_reprocesses_that_datum(store, put, run, write_spec, copy_stage):
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw")
    put("raw", {"/x.txt": "x", "/y.txt": "y"})
    run()
    put("raw", {"/x.txt": "x2"})  # same path, new content

    outcome = run().outcomes[0]

    assert (outcome.processed, outcome.skipped) == (1, 1)
    assert files_of(store, "a")["/x.txt.out"] == "x2"


def test_spec_change_makes_a_new_spec_commit_and_reprocesses(
    store, put, run, write_spec, copy_stage
):
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw")
    put("raw", {"/x.txt": "x"})
    first = run().commit_sets[0]
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw", transform={"env": {"K": "v"}})

    summary = run()

    second = summary.commit_sets[0]
    assert summary.outcomes[0].processed == 1 and summary.outcomes[0].skipped == 0
    assert store.head("a", SPEC) == second
    assert store.inspect_commit(CommitRef("a", second, repo_type=SPEC)).parent == first
    assert (
        CommitRef("a", second, repo_type=SPEC)
        in store.inspect_commit(CommitRef("a", second)).provenance
    )


def test_reprocess_runs_every_datum_again(store, put, run, write_spec, copy_stage):
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw")
    put("raw", {"/x.txt": "x"})
    run()

    outcome = run(reprocess=frozenset({"a"})).outcomes[0]

    assert (outcome.status, outcome.processed, outcome.skipped) == (SUCCESS, 1, 0)


def test_pipeline_waits_for_an_input_without_commits(store, run, write_spec, copy_stage):
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw")

    summary = run()

    assert not summary.did_work
    assert "raw@master has no commit" in summary.outcomes[0].reason


def test_cross_and_union_inputs(store, put, run, write_spec, script):
    listing = script(
        "listing",
        """
        names = sorted(p.relative_to(src).as_posix() for p in src.rglob("*")
                       if p.is_file() and not p.is_relative_to(out))
        (out / (os.environ["PACH_DATUM_ID"][:12] + ".txt")).write_text(" ".join(names))
        """,
    )
    put("left", {"/l1": "1", "/l2": "2"})
    put("right", {"/r1": "1", "/r2": "2", "/r3": "3"})
    cross = {
        "cross": [{"pfs": {"repo": "left", "glob": "/*"}}, {"pfs": {"repo": "right", "glob": "/*"}}]
    }
    union = {
        "union": [
            {"pfs": {"repo": "left", "glob": "/*", "name": "l"}},
            {"pfs": {"repo": "right", "glob": "/*", "name": "r"}},
        ]
    }
    write_spec("c", [*listing, "/pfs", "/pfs/out"], "", input=cross)
    # (the branches of a union may also share one name: test_runner_inputs.py)
    write_spec("u", [*listing, "/pfs", "/pfs/out"], "", input=union)

    summary = run()

    by_name = {o.pipeline: o for o in summary.outcomes}
    assert by_name["c"].total == 6 and by_name["u"].total == 5
    seen = sorted(files_of(store, "c").values())
    assert seen[0] == "left/l1 right/r1" and len(set(seen)) == 6
    assert sorted(files_of(store, "u").values()) == ["l/l1", "l/l2", "r/r1", "r/r2", "r/r3"]
