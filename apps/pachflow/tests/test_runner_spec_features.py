"""Spec features with pachd's meaning locally (errCmd, acceptReturnCode, reprocessSpec
every_job, jobTimeout, egress to file://), and `validate --local` naming what the local
runner cannot honour."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from pachflow.cli import main
from pachflow.local.runner import FAILURE, SUCCESS
from pachflow_store import DATUM_RECOVERED, JOB_KILLED

FAIL = "sys.exit(int(os.environ.get('CODE', '3')))"


def test_accept_return_code_counts_as_success(store, put, run, write_spec, script):
    stage = script("exit3", "(out / 'x').write_text('x'); sys.exit(3)")
    write_spec("a", [*stage, "/pfs/raw", "/pfs/out"], "raw", transform={"acceptReturnCode": [3]})
    put("raw", {"/f": "1"})
    assert run().outcomes[0].status == SUCCESS


def failing_with_err_cmd(write_spec, script, handler: str) -> None:
    """Spec `a`: every datum fails once (datumTries 1), then errCmd runs `handler`."""
    write_spec(
        "a",
        [*script("fail", FAIL), "/pfs/raw", "/pfs/out"],
        "raw",
        transform={"errCmd": [*script("handler", handler), "/pfs/raw", "/pfs/out"]},
        datumTries=1,
    )


def test_err_cmd_success_recovers_the_datum_without_output(store, put, run, write_spec, script):
    failing_with_err_cmd(write_spec, script, "pass")
    put("raw", {"/f": "1", "/g": "2"})
    outcome = run().outcomes[0]
    assert outcome.status == SUCCESS and "2 datum(s) recovered by errCmd" in outcome.reason
    assert {d.state for d in store.list_datums("a", outcome.job_id)} == {DATUM_RECOVERED}
    assert list(store.walk_files(store.resolve("a"))) == []


def test_err_cmd_failing_leaves_the_datum_failed(store, put, run, write_spec, script):
    failing_with_err_cmd(write_spec, script, "sys.exit(1)")
    put("raw", {"/f": "1"})
    assert run().outcomes[0].status == FAILURE


def test_every_job_reprocesses_unchanged_datums(store, put, run, write_spec, copy_stage):
    write_spec("a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw", reprocessSpec="every_job")
    put("raw", {"/f": "1"})
    run()
    put("raw", {"/g": "2"})
    outcome = run().outcomes[0]
    assert (outcome.processed, outcome.skipped) == (2, 0)


def test_job_timeout_kills_the_job(store, put, run, write_spec, script):
    stage = script("slow", "time.sleep(30)")
    write_spec("a", [*stage, "/pfs/raw", "/pfs/out"], "raw", jobTimeout="1s")
    put("raw", {"/f": "1"})
    start = time.monotonic()
    outcome = run().outcomes[0]
    assert time.monotonic() - start < 15
    assert outcome.status == FAILURE and "job timed out" in outcome.reason
    assert store.list_jobs("a")[0].state == JOB_KILLED


def test_egress_copies_the_output_commit_to_a_local_dir(
    tmp_path, store, put, run, write_spec, copy_stage
):
    target = tmp_path / "egress"
    write_spec(
        "a", [*copy_stage, "/pfs/raw", "/pfs/out"], "raw", egress={"URL": f"file://{target}"}
    )
    put("raw", {"/d/f": "1"})
    assert run().outcomes[0].status == SUCCESS
    assert (target / "d" / "f.out").read_text() == "1"


def test_validate_local_names_what_the_runner_cannot_honour(tmp_path, write_spec, specs_dir):
    write_spec(
        "a",
        ["x"],
        "raw",
        transform={"stdin": ["echo"]},
        egress={"URL": "s3://bucket/x"},
        input={"pfs": {"repo": "raw", "glob": "/", "trigger": {"branch": "staging"}}},
    )
    args = ["validate", "--local", "--input-repo", "raw", "--stages-dir", str(tmp_path)]
    args.append(str(specs_dir / "a.json"))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    for field in ("transform.stdin", "egress.URL", "input.pfs.trigger"):
        assert f"a.json: {field}: " in result.output, field
    # without --local the same spec is valid for a cluster
    assert CliRunner().invoke(main, [a for a in args if a != "--local"]).exit_code == 0


def test_a_valid_cron_spec_is_required(tmp_path, write_spec, specs_dir):
    write_spec("a", ["x"], "raw", input={"cron": {"name": "tick", "spec": "every minute"}})
    args = ["validate", "--stages-dir", str(tmp_path), str(specs_dir / "a.json")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "input.cron.spec: error parsing cron-spec" in result.output
    json.loads((specs_dir / "a.json").read_text())  # untouched
