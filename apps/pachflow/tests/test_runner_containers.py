"""The container runtimes' own logic (no engine needed): which variables go into the
container, how the run command mounts /pfs and the store, and the errors for a missing
engine. Running real images is tested in tests/containers/test_images_chain.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from pachflow.local.containers import (
    ContainerRuntime,
    DockerRuntime,
    PodmanRuntime,
    container_env,
)
from pachflow.local.runtime import RUNTIMES, Launch, get_runtime


def test_podman_and_docker_are_runtimes_of_pachflow_run():
    assert {"local", "podman", "docker"} <= set(RUNTIMES)
    assert isinstance(get_runtime("podman"), PodmanRuntime)
    assert isinstance(get_runtime("docker"), DockerRuntime)


def test_env_keeps_what_the_runner_set_and_drops_the_hosts():
    host = {"PATH": "/usr/bin", "JAVA_HOME": "/opt/jdk", "EDITOR": "vi", "PACHFLOW_X": "1"}
    env = {
        **host,
        "PATH": "/venv/bin:/usr/bin",  # changed by the runner, still host-only
        "PACHFLOW_X": "1",  # a stage setting: always passed
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:5000",
        "PACH_JOB_ID": "abc",
        "raw_data": "/pfs/raw_data/a.csv",  # a datum variable (not in the host env)
        "LOG_LEVEL": "debug",  # from the spec's env
    }
    assert container_env(env, host) == {
        "PACHFLOW_X": "1",
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:5000",
        "PACH_JOB_ID": "abc",
        "raw_data": "/pfs/raw_data/a.csv",
        "LOG_LEVEL": "debug",
    }


def test_paths_stay_as_pachyderm_shows_them():
    assert PodmanRuntime().visible("/pfs/out", Path("/tmp/x/pfs")) == "/pfs/out"


def test_run_command_mounts_pfs_and_the_store(tmp_path, monkeypatch):
    monkeypatch.delenv("PACHFLOW_CONTAINER_FLAGS", raising=False)
    home = tmp_path / "home"
    pfs = home / "scratch" / "job" / "pfs"
    cmd = PodmanRuntime().command(
        Launch(
            image="pachflow/pachflow-split:0.1.0",
            argv=["pachflow-split", "/pfs/raw_data", "/pfs/out"],
            env={"PACHFLOW_HOME": str(home), "PACH_JOB_ID": "j1"},
            pfs_dir=pfs,
            cwd=home,
        )
    )
    assert cmd[:3] == ["podman", "run", "--rm"]
    assert f"{pfs}:/pfs" in cmd and f"{home}:{home}" in cmd
    assert cmd[cmd.index("--network") + 1] == "host"
    assert cmd[cmd.index("-w") + 1] == str(home)
    assert "PACH_JOB_ID=j1" in cmd
    image_at = cmd.index("pachflow/pachflow-split:0.1.0")
    assert cmd[image_at + 1 :] == ["pachflow-split", "/pfs/raw_data", "/pfs/out"]


def _spark_launch(home: Path, master: str) -> list[str]:
    pfs = home / "scratch" / "job" / "etl" / "d1" / "pfs"
    pfs.mkdir(parents=True)
    env = {"PACHFLOW_HOME": str(home), "PACHFLOW_SPARK_MASTER": master}
    return PodmanRuntime().command(Launch("img", ["x"], env, pfs, home))


def test_a_datum_on_the_host_s_spark_gets_the_host_pfs_and_a_shared_tmpdir(tmp_path, monkeypatch):
    """With --spark engine|connect|standalone|URL the Spark JVM is on the host: it must
    find /pfs by its host path, and the scratch files it shares with the stage (train's
    fit sample, the saved model) at one path on both sides."""
    monkeypatch.delenv("PACHFLOW_CONTAINER_FLAGS", raising=False)
    cmd = _spark_launch(tmp_path, "sc://127.0.0.1:15002")
    pfs = tmp_path / "scratch" / "job" / "etl" / "d1" / "pfs"
    tmp = pfs.parent / "tmp"
    assert f"PACHFLOW_SPARK_HOST_PFS={pfs}" in cmd
    assert f"TMPDIR={tmp}" in cmd and f"{tmp}:{tmp}" in cmd and tmp.is_dir()


def test_a_datum_with_spark_in_its_image_gets_neither(tmp_path, monkeypatch):
    monkeypatch.delenv("PACHFLOW_CONTAINER_FLAGS", raising=False)
    cmd = _spark_launch(tmp_path, "local[2]")
    assert not any(arg.startswith(("PACHFLOW_SPARK_HOST_PFS=", "TMPDIR=")) for arg in cmd)


def test_extra_flags_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PACHFLOW_CONTAINER_FLAGS", "--runtime runc --ulimit nofile=4096:4096")
    cmd = DockerRuntime().command(Launch("img", ["x"], {}, tmp_path, tmp_path))
    at = cmd.index("img")
    assert cmd[at - 4 : at] == ["--runtime", "runc", "--ulimit", "nofile=4096:4096"]


def test_missing_engine_is_a_clear_error():
    class Nowhere(ContainerRuntime):
        name = engine = "no-such-container-engine"

    with pytest.raises(FileNotFoundError, match="no-such-container-engine not found"):
        Nowhere().require_image("img")
