"""datum_tries, failed jobs (no output commit, logs kept), the duplicate-path rule, and
retrying a failed job in the next run."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pachflow.cli import main
from pachflow.local.runner import FAILURE, SUCCESS
from pachflow_store import DATUM_FAILED, DATUM_SUCCESS, JOB_FAILURE


def flaky(tmp_path: Path) -> str:
    """Fails while a counter file (outside the store) says fewer than N tries happened."""
    return f"""
counter = pathlib.Path({str(tmp_path / "tries")!r}) / os.environ["PACH_DATUM_ID"]
counter.parent.mkdir(exist_ok=True)
n = int(counter.read_text()) + 1 if counter.exists() else 1
counter.write_text(str(n))
print(f"attempt {{n}}", flush=True)
if n < int(os.environ["SUCCEED_ON_TRY"]):
    sys.exit(f"boom on try {{n}}")
(out / "ok.txt").write_text(str(n))
"""


def test_a_datum_is_retried_until_it_succeeds(store, put, run, write_spec, script, tmp_path):
    write_spec(
        "p",
        [*script("flaky", flaky(tmp_path)), "/pfs/raw", "/pfs/out"],
        "raw",
        glob="/",
        transform={"env": {"SUCCEED_ON_TRY": "3"}},
        datumTries=3,
    )
    put("raw", {"/x": "x"})

    outcome = run().outcomes[0]

    assert outcome.status == SUCCESS
    (datum,) = store.list_datums("p", outcome.job_id)
    assert (datum.state, datum.tries) == (DATUM_SUCCESS, 3)
    log = Path(datum.log_path).read_text()
    assert "boom on try 1" in log and "boom on try 2" in log and "attempt 3" in log


def test_a_failed_job_commits_nothing_and_keeps_every_log(
    store, put, run, write_spec, script, tmp_path
):
    write_spec(
        "p",
        [*script("flaky", flaky(tmp_path)), "/pfs/raw", "/pfs/out"],
        "raw",
        transform={"env": {"SUCCEED_ON_TRY": "99"}},
        datumTries=2,
    )
    put("raw", {"/x": "x", "/y": "y"})

    outcome = run().outcomes[0]

    assert outcome.status == FAILURE and outcome.failed == 2
    assert store.head("p") is None  # no output commit on the branch
    assert not store.repo_exists("p") or store.list_commits("p") == []
    job = store.inspect_job("p")
    assert job.state == JOB_FAILURE and "boom on try 2" in job.reason
    for datum in store.list_datums("p", job.id):
        assert datum.state == DATUM_FAILED and datum.tries == 2
        assert "boom on try 1" in Path(datum.log_path).read_text()
    shown = CliRunner().invoke(main, ["logs", "p"])
    assert shown.exit_code == 0 and shown.output.count("--- try 2 failed") == 2


def test_a_failed_job_is_retried_next_run_skipping_what_succeeded(
    store, put, run, write_spec, script
):
    cmd = [
        *script(
            "fail_on_bad",
            """
            for f in src.rglob("*"):
                if f.is_file():
                    if f.read_text() == "bad":
                        sys.exit("bad input")
                    (out / f.name).write_text("ok")
            """,
        ),
        "/pfs/raw",
        "/pfs/out",
    ]
    write_spec("p", cmd, "raw", datumTries=1)
    put("raw", {"/good": "fine", "/bad": "bad"})
    assert run().outcomes[0].status == FAILURE

    put("raw", {"/bad": "fixed"})
    outcome = run().outcomes[0]

    assert (outcome.status, outcome.processed, outcome.skipped) == (SUCCESS, 1, 1)
    assert {f.path for f in store.walk_files(store.resolve("p"))} == {"/good", "/bad"}


def test_two_datums_writing_one_path_fail_the_job(store, put, run, write_spec, script):
    cmd = [*script("same", "(out / 'result.txt').write_text('x')\n"), "/pfs/raw", "/pfs/out"]
    write_spec("p", cmd, "raw")
    put("raw", {"/x": "x", "/y": "y"})

    outcome = run().outcomes[0]

    assert outcome.status == FAILURE
    assert "duplicate path output by different datums: /result.txt" in outcome.reason
    assert store.head("p") is None
    assert "duplicate path output by different datums" in store.inspect_job("p").reason


def test_a_missing_command_fails_the_datum_with_a_clear_error(store, put, run, write_spec):
    write_spec("p", ["pachflow-no-such-stage", "/pfs/raw", "/pfs/out"], "raw", datumTries=1)
    put("raw", {"/x": "x"})

    outcome = run().outcomes[0]

    assert outcome.status == FAILURE and "pachflow-no-such-stage" in outcome.reason


def test_parallelism_runs_datums_at_the_same_time(store, put, run, write_spec, script, tmp_path):
    # each datum waits until both have started: only passes when they run concurrently
    barrier = tmp_path / "barrier"
    body = f"""
b = pathlib.Path({str(barrier)!r}); b.mkdir(exist_ok=True)
(b / os.environ["PACH_DATUM_ID"]).touch()
deadline = time.time() + 60
while len(list(b.iterdir())) < 2:
    if time.time() > deadline:
        sys.exit("the other datum never started")
    time.sleep(0.02)
(out / (os.environ["PACH_DATUM_ID"] + ".done")).touch()
"""
    write_spec(
        "p",
        [*script("barrier", body), "/pfs/raw", "/pfs/out"],
        "raw",
        parallelismSpec={"constant": 8},
        datumTries=1,
    )
    put("raw", {"/x": "x", "/y": "y"})

    assert run(cores=2).outcomes[0].status == SUCCESS


def test_datum_timeout_stops_the_datum(store, put, run, write_spec, script):
    cmd = [*script("slow", "time.sleep(60)\n"), "/pfs/raw", "/pfs/out"]
    write_spec("p", cmd, "raw", datumTries=1, datumTimeout="1s")
    put("raw", {"/x": "x"})

    outcome = run().outcomes[0]

    assert outcome.status == FAILURE and "datum timeout (1s)" in outcome.reason
