"""s3 inputs and s3Out through the local S3 gateway (a real s3rver on 127.0.0.1), with the
semantics of pachd's worker sidecar: the input commit is the bucket named as the input,
/pfs/<name> stays empty, s3Out's output commit is what the code wrote in the bucket `out`,
and the server is gone after the job. The pachd validation rules and the exit 2 without
node/s3rver need no server."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pachflow.cli import main
from pachflow.local import s3rver
from pachflow.local.progress import Progress
from pachflow.local.runner import FAILURE, SUCCESS, Runner
from pachflow.local.specs import load_specs

EXAMPLES = Path(__file__).resolve().parents[3] / "pipelines" / "examples"
PACHFLOW = str(Path(sys.executable).parent / "pachflow")
EVENTS = {"/web/0107-a.log": "web a", "/db/0107-x.log": "db x"}

needs_gateway = pytest.mark.skipif(
    bool(s3rver.missing()) and not os.environ.get("PACHFLOW_REQUIRE_SERVICES"),
    reason=f"no local S3 gateway here: {s3rver.missing()}",
)

# A datum of an s3 pipeline: what it sees through S3_ENDPOINT and in /pfs, into `sink`
# (the bucket `out` with s3Out, else /pfs/out).
S3_DATUM = """
import boto3
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="events").get("Contents", []))
seen = {
    "keys": keys,
    "first": s3.get_object(Bucket="events", Key=keys[0])["Body"].read().decode(),
    "pfs_events": sorted(os.listdir(os.environ["events"])),
    "pfs_out_exists": out.exists(),
    "aws": [os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]],
    "side": sorted(p.name for p in src.iterdir()),
}
name = os.environ["PACH_DATUM_ID"][:12] + ".json"
if os.environ.get("S3_OUT"):
    s3.put_object(Bucket="out", Key="seen/" + name, Body=json.dumps(seen))
else:
    (out / name).write_text(json.dumps(seen))
"""

# writes half an output into the bucket `out`, then fails
CRASH = """
import boto3
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
s3.put_object(Bucket="out", Key="half", Body=b"x")
sys.exit(1)
"""

# signals it started (the S3 gateway is up by then), then waits to be killed
STARTED = """
pathlib.Path(os.environ["STARTED"]).write_text(str(os.getpid()))
time.sleep(120)
"""


def s3_cross(side_glob: str = "/*") -> dict:
    """The s3 input `events` crossed with the pfs input ex_side."""
    return {
        "cross": [
            {"pfs": {"repo": "ex_events", "name": "events", "glob": "/", "s3": True}},
            {"pfs": {"repo": "ex_side", "glob": side_glob}},
        ]
    }


def gateway_processes(store) -> list[int]:
    """pids of s3rver processes serving from this store's scratch directory."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(store.scratch_dir).encode() in cmdline and b"s3rver" in cmdline:
            pids.append(int(entry.name))
    return pids


def files_of(store, repo: str) -> dict[str, bytes]:
    ref = store.resolve(repo)
    return {f.path: store.file_blob(ref, f.path).read_bytes() for f in store.walk_files(ref)}


@needs_gateway
def test_s3_example_reads_the_input_bucket_and_commits_the_out_bucket(store, put, tmp_path):
    commit = put("ex_events", EVENTS)
    specs = tmp_path / "specs-s3"
    specs.mkdir()
    shutil.copy(EXAMPLES / "s3.json", specs)
    summary = Runner(store, load_specs(specs), progress=Progress(quiet=True)).run()
    assert summary.outcomes[0].status == SUCCESS, summary.outcomes[0].reason
    files = files_of(store, "ex-s3")
    assert set(files) == {"/seen.json", "/upper/db/0107-x.log", "/upper/web/0107-a.log"}
    assert files["/upper/web/0107-a.log"] == b"WEB A"
    seen = json.loads(files["/seen.json"])
    assert seen == {
        "keys": ["db/0107-x.log", "web/0107-a.log"],
        "pfs_events": [],  # nothing materialised in /pfs/events
        "commit": commit.id,
    }
    assert gateway_processes(store) == []


@needs_gateway
def test_s3_input_crossed_with_pfs_every_datum_sees_the_bucket(store, put, run, write_spec, script):
    write_spec(
        "a", [*script("s3datum", S3_DATUM), "/pfs/ex_side", "/pfs/out"], "", input=s3_cross()
    )
    put("ex_events", EVENTS)
    put("ex_side", {"/p": "1", "/q": "2"})
    outcome = run().outcomes[0]
    assert (outcome.status, outcome.processed) == (SUCCESS, 2), outcome.reason
    seen = sorted((json.loads(v) for v in files_of(store, "a").values()), key=lambda s: s["side"])
    assert [s["side"] for s in seen] == [["p"], ["q"]]
    for s in seen:
        assert s["keys"] == ["db/0107-x.log", "web/0107-a.log"] and s["first"] == "db x"
        assert s["pfs_events"] == [] and s["pfs_out_exists"]
        assert s["aws"] == ["default", "default"]  # pachd's credentials without auth
    # an s3 input does not stop skipping: only the new datum runs
    put("ex_side", {"/p": "1", "/q": "2", "/r": "3"})
    outcome = run().outcomes[0]
    assert (outcome.processed, outcome.skipped) == (1, 2)
    assert gateway_processes(store) == []


@needs_gateway
def test_s3_out_commit_is_the_bucket_and_no_datum_is_skipped(store, put, run, write_spec, script):
    write_spec(
        "a",
        [*script("s3datum", S3_DATUM), "/pfs/ex_side", "/pfs/out"],
        "",
        input=s3_cross(),
        transform={"env": {"S3_OUT": "1"}},
        s3Out=True,
    )
    put("ex_events", EVENTS)
    put("ex_side", {"/p": "1"})
    assert run().outcomes[0].status == SUCCESS
    put("ex_side", {"/p": "1", "/q": "2"})
    outcome = run().outcomes[0]
    # pachd never skips a datum of an s3Out pipeline (registry.go noSkip)
    assert (outcome.status, outcome.processed, outcome.skipped) == (SUCCESS, 2, 0)
    files = files_of(store, "a")
    assert len(files) == 2 and all(path.startswith("/seen/") for path in files)
    for value in files.values():
        assert not json.loads(value)["pfs_out_exists"]  # pachd links no /pfs/out with s3Out
    assert gateway_processes(store) == []


@needs_gateway
def test_a_failing_s3_datum_fails_the_job_without_output_and_stops_the_server(
    store, put, run, write_spec, script
):
    crash = script("crash", CRASH)
    write_spec(
        "a", [*crash, "/pfs/ex_side", "/pfs/out"], "", input=s3_cross("/"), s3Out=True, datumTries=1
    )
    put("ex_events", EVENTS)
    put("ex_side", {"/p": "1"})
    outcome = run().outcomes[0]
    assert outcome.status == FAILURE and "1 datum(s) failed" in outcome.reason
    assert store.head("a") is None  # no half-written output commit
    assert gateway_processes(store) == []


def test_without_s3rver_run_and_validate_local_exit_2_saying_how_to_install(
    home, tmp_path, write_spec, specs_dir, put, monkeypatch
):
    monkeypatch.setenv(s3rver.PREFIX_ENV, str(tmp_path / "no-s3rver"))
    write_spec("a", ["x"], "", input=s3_cross(), s3Out=True)
    put("ex_events", EVENTS)
    put("ex_side", {"/p": "1"})
    result = CliRunner().invoke(main, ["run", "--specs", str(specs_dir)])
    assert result.exit_code == 2
    for field in ("s3Out", "input.cross[0].pfs.s3"):
        assert f"a.json: {field}: needs the local S3 gateway: s3rver is not installed" in (
            result.output
        ), field
    assert "make s3rver" in result.output
    args = ["validate", "--local", "--input-repo", "ex_events", "--input-repo", "ex_side"]
    args += ["--stages-dir", str(tmp_path), str(specs_dir / "a.json")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "make s3rver" in result.output
    # on a cluster (no --local) the spec is fine
    assert CliRunner().invoke(main, [a for a in args if a != "--local"]).exit_code == 0


@pytest.mark.parametrize(
    ("pfs", "field", "expected"),
    [
        # each case: pachd's validateInput (src/server/pps/server/api_server.go)
        ({"glob": "/*"}, "input.pfs.glob", 'an s3 input must use glob "/"'),
        ({"glob": ""}, "input.pfs.glob", 'an s3 input must use glob "/"'),
        ({"glob": "/", "lazy": True}, "input.pfs.lazy", "cannot be set with s3"),
        ({"glob": "/", "emptyFiles": True}, "input.pfs.emptyFiles", "cannot be set with s3"),
    ],
)
def test_validate_rejects_s3_inputs_as_pachd_does(
    tmp_path, write_spec, specs_dir, pfs, field, expected
):
    write_spec("a", ["x"], "", input={"pfs": {"repo": "raw", "s3": True, **pfs}})
    args = ["validate", "--input-repo", "raw", "--stages-dir", str(tmp_path)]
    result = CliRunner().invoke(main, [*args, str(specs_dir / "a.json")])
    assert result.exit_code == 2 and f"a.json: {field}: " in result.output
    assert expected in result.output


@pytest.mark.parametrize("kind", ["join", "group", "union"])
def test_validate_rejects_s3_inputs_inside_join_group_union(tmp_path, write_spec, specs_dir, kind):
    children = [
        {"pfs": {"repo": "raw", "glob": "/", "s3": True}},
        {"pfs": {"repo": "other", "glob": "/*"}},
    ]
    write_spec("a", ["x"], "", input={kind: children})
    args = ["validate", "--input-repo", "raw", "--input-repo", "other"]
    args += ["--stages-dir", str(tmp_path), str(specs_dir / "a.json")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and f"input.{kind}: s3 inputs in a {kind}" in result.output


def test_validate_accepts_an_s3_glob_pachd_cleans_to_root(tmp_path, write_spec, specs_dir):
    write_spec("a", ["x"], "", input={"pfs": {"repo": "raw", "glob": "//", "s3": True}})
    args = ["validate", "--input-repo", "raw", "--stages-dir", str(tmp_path)]
    result = CliRunner().invoke(main, [*args, str(specs_dir / "a.json")])
    assert result.exit_code == 0, result.output


@needs_gateway
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_stopped_or_killed_runner_leaves_no_s3_server(
    home, tmp_path, write_spec, specs_dir, put, store, script, monkeypatch, sig
):
    started = tmp_path / "started"
    write_spec(
        "a",
        [*script("wait", STARTED), "/pfs/ex_side", "/pfs/out"],
        "",
        input=s3_cross(),
        transform={"env": {"STARTED": str(started)}},  # a stage sees only the spec's env
    )
    put("ex_events", EVENTS)
    put("ex_side", {"/p": "1"})
    runner = subprocess.Popen([PACHFLOW, "run", "--specs", str(specs_dir)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not started.exists():
            assert runner.poll() is None and time.monotonic() < deadline, "no datum started"
            time.sleep(0.05)
        assert gateway_processes(store), "the S3 gateway should serve the running datum"
        runner.send_signal(sig)
        runner.wait(timeout=60)
        deadline = time.monotonic() + 30  # kill -9: s3rver sees its stdin close and exits
        while gateway_processes(store) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gateway_processes(store) == []
    finally:
        if runner.poll() is None:
            runner.kill()
        runner.communicate()
        if started.exists():  # a kill -9 leaves the datum's own session behind
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(started.read_text()), signal.SIGKILL)


@needs_gateway
@pytest.mark.spark
def test_train_reads_its_s3_input_through_the_gateway(
    store, write_spec, run, tmp_path, warm_spark_engine, mlflow_server
):
    """train's S3 variant (pipelines/cluster/train.json's input and argv) under the local
    S3 gateway, as on a worker with pachd's sidecar (S3_ENDPOINT, keys `default`): train
    lists bucket `etl` and checks every partials file with pyarrow. On the Spark engine
    (PACHFLOW_TRAIN_ARROW_MAX_BYTES=0) it hands the reads to the Connect server, which
    (pyspark's jars: no hadoop-aws) cannot read s3a://: the datum fails with that one line,
    before any MLflow run. On the Arrow engine (the default for data this size) pyarrow
    reads the bucket and the server only fits: the datum succeeds."""
    from pachflow_testing.features import write_features

    etl = tmp_path / "etl-files"
    files = write_features(etl, 200, fraud_rate=0.05, n_files=2)
    store.put_files("etl", [("/" + f.relative_to(etl).as_posix(), f) for f in files])
    credentials = mlflow_server.credentials.env() if mlflow_server.credentials else {}
    env = {
        "MLFLOW_TRACKING_URI": mlflow_server.uri,
        "PACHFLOW_SPARK_MASTER": warm_spark_engine.url,
        **credentials,
    }
    train = str(Path(sys.executable).parent / "pachflow-train")
    spec = json.loads((EXAMPLES.parent / "cluster" / "train.json").read_text())
    assert spec["transform"]["cmd"][1] == "s3a://etl" and spec["input"]["pfs"]["s3"]

    def run_train(env: dict[str, str]):  # the S3 variant's input and argv, this env
        write_spec(
            "train",
            [train, "s3a://etl", "/pfs/out"],
            "",
            input=spec["input"],
            transform={"env": env},
            datumTries=1,
        )
        return run().outcomes[0]

    outcome = run_train({**env, "PACHFLOW_TRAIN_ARROW_MAX_BYTES": "0"})  # the Spark engine
    assert outcome.status == FAILURE, outcome.reason
    logs = store.logs_dir / "train" / str(outcome.job_id)
    log = "".join(p.read_text() for p in sorted(logs.rglob("*")) if p.is_file())
    assert "2 features file(s) under s3a://etl match the contract" in log, log[-2000:]
    assert f"the Spark at {warm_spark_engine.url} cannot read s3a://" in log, log[-2000:]
    assert store.head("train") is None
    assert gateway_processes(store) == []

    outcome = run_train(env)  # the spec's own: the Arrow engine
    assert outcome.status == SUCCESS, outcome.reason
    assert store.head("train") is not None
    assert gateway_processes(store) == []
