"""The worker env vars a datum's process sees, transform.env/secrets, and MLflow's URI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pachflow_store import SPEC, CommitRef

DUMP_ENV = """
env = {k: v for k, v in os.environ.items()}
env["_cwd"] = os.getcwd()
env["_argv"] = sys.argv[1:]
env["_input_exists"] = pathlib.Path(env["raw"]).exists()
(out / (env["PACH_DATUM_ID"] + ".json")).write_text(json.dumps(env))
"""


@pytest.fixture
def envs(store, put, run, write_spec, script, monkeypatch):
    """Run one pipeline whose datums dump their env; returns (env per datum id, run id)."""

    def go(**transform):
        write_spec(
            "p", [*script("dump", DUMP_ENV), "/pfs/raw", "/pfs/out"], "raw", transform=transform
        )
        raw = put("raw", {"/x.txt": "x", "/sub/y.txt": "y"})
        run_id = run().commit_sets[0]
        ref = CommitRef("p", run_id)
        dumped = {
            f.path.strip("/").removesuffix(".json"): json.loads(
                store.file_blob(ref, f.path).read_text()
            )
            for f in store.walk_files(ref)
        }
        return dumped, run_id, raw

    return go


def test_pachyderm_worker_env_vars(store, envs, home):
    dumped, run_id, raw = envs()
    datums = {d.id: d for d in store.list_datums("p", run_id)}
    assert set(dumped) == set(datums)
    by_file = {datums[i].files[0]: env for i, env in dumped.items()}
    env = by_file["raw:/x.txt"]
    assert env["PACH_JOB_ID"] == run_id
    assert env["PACH_OUTPUT_COMMIT_ID"] == run_id
    assert env["PPS_PIPELINE_NAME"] == "p"
    assert env["PPS_PROJECT_NAME"] == "default"
    assert env["PPS_SPEC_COMMIT"] == store.head("p", SPEC)
    assert env["raw_COMMIT"] == raw.id
    # <input> is this datum's path under /pfs/raw (remapped), and it exists
    assert env["raw"].endswith("/pfs/raw/x.txt") and env["_input_exists"]
    assert by_file["raw:/sub/y.txt"]["raw"].endswith("/pfs/raw/sub")
    # argv: /pfs/... remapped to the datum's scratch directory
    assert env["_argv"][0] == env["raw"].removesuffix("/x.txt")
    assert env["_argv"][1].endswith("/pfs/out") and not env["_argv"][1].startswith("/pfs")
    assert env["PACHFLOW_HOME"] == str(home)
    assert env["_cwd"] == str(home)


def test_transform_env_and_local_mlflow_default(envs, home):
    dumped, _, _ = envs(env={"PACHFLOW_X": "1", "MLFLOW_TRACKING_URI": "http://cluster:80"})
    env = next(iter(dumped.values()))
    assert env["PACHFLOW_X"] == "1"
    # the spec's cluster URL is replaced by the local SQLite store under $PACHFLOW_HOME
    assert env["MLFLOW_TRACKING_URI"] == f"sqlite:///{home / 'mlflow.db'}"


def test_host_tracking_uri_and_secrets_come_from_the_host(envs, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    secrets = [
        {"name": "mlflow-credentials", "key": "username", "envVar": "MLFLOW_TRACKING_USERNAME"},
        {"name": "mlflow-credentials", "key": "password", "envVar": "MLFLOW_TRACKING_PASSWORD"},
    ]
    dumped, _, _ = envs(env={"MLFLOW_TRACKING_URI": "http://cluster:80"}, secrets=secrets)
    env = next(iter(dumped.values()))
    assert env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5999"
    assert env["MLFLOW_TRACKING_USERNAME"] == "alice"
    assert "MLFLOW_TRACKING_PASSWORD" not in env


def test_leftover_pachyderm_vars_of_the_host_do_not_leak(envs, monkeypatch):
    monkeypatch.setenv("PACH_DATUM_ID", "stale")
    monkeypatch.setenv("PPS_WORKER_GRPC_PORT", "1")
    dumped, _, _ = envs()
    for datum_id, env in dumped.items():
        assert env["PACH_DATUM_ID"] == datum_id
        assert "PPS_WORKER_GRPC_PORT" not in env


def test_commands_resolve_from_the_running_interpreter_venv(envs):
    dumped, _, _ = envs()
    import sys

    env = next(iter(dumped.values()))
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)


def test_a_stage_sees_only_the_documented_pass_throughs_of_the_shell(envs, monkeypatch):
    """As on a worker: the shell's stage options and other variables do not reach a stage;
    what it needs to run here, proxies, MLflow tracking and Spark endpoint settings do."""
    passed = {
        "JAVA_HOME": "/opt/jdk",
        "LC_ALL": "C.UTF-8",
        "HTTPS_PROXY": "http://proxy:3128",
        "no_proxy": "localhost",
        "MLFLOW_TRACKING_TOKEN": "t",
        "AWS_ACCESS_KEY_ID": "k",
        "PACHFLOW_MLFLOW_RETRIES": "2",
        "SPARK_REMOTE": "sc://localhost:15002",
        "PACHFLOW_SPARK_DRIVER_MEMORY": "1g",
    }
    kept_out = {"PACHFLOW_P_MAX_DEPTH": "3", "EDITOR": "vi", "PYTHONPATH": "/tmp/x"}
    for name, value in {**passed, **kept_out}.items():
        monkeypatch.setenv(name, value)
    dumped, _, _ = envs(env={"PACHFLOW_P_SEED": "7"})
    env = next(iter(dumped.values()))
    assert {k: env.get(k) for k in passed} == passed
    assert not set(kept_out) & set(env)
    assert env["PACHFLOW_P_SEED"] == "7"  # the spec's env: the way to set a stage option


def test_run_warns_naming_a_stage_setting_of_the_shell_it_did_not_pass(
    home, write_spec, script, put, specs_dir, monkeypatch
):
    from click.testing import CliRunner

    from pachflow.cli import main

    body = 'out.joinpath("depth").write_text(os.environ.get("PACHFLOW_P_MAX_DEPTH", "default"))'
    write_spec("p", [*script("p", body), "/pfs/raw", "/pfs/out"], "raw", "/")
    put("raw", {"/x.txt": "x"})
    monkeypatch.setenv("PACHFLOW_P_MAX_DEPTH", "3")
    monkeypatch.setenv("PACHFLOW_SPARK_MASTER", "local[1]")  # passed: no warning

    result = CliRunner().invoke(main, ["run", "--specs", str(specs_dir), "-q"])

    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.output
    assert "PACHFLOW_P_MAX_DEPTH is set in this shell but not passed to p" in warnings[0]
    assert f"transform.env of {specs_dir / 'p.json'}" in warnings[0]
    assert CliRunner().invoke(main, ["get", "p@master:/depth"]).output == "default"
